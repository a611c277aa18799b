// umalloc's hot paths in C: malloc, free, Partition.get and put over the arena format
// of lib/umalloc/_core.py (header words, seals, parity, page index, bitmaps, class lists,
// PREV_FREE, slack, stats words) with the same damage checks, in the same order, and the same
// results: a refusal calls the same Python _refused(code, p, what) / _refused(w, n) (a
// malloc size) with the same arguments.  This is a translation of _core.py's viper code
// (bind_heap's closures, _free_block, _links_ok, _insert, _remove) and _corepart.py's;
// keep them in step.  Values are machine words as in viper: a word is read zero-extended
// (a 64-bit port) or as a signed 32-bit int (a 32-bit one), so every comparison gives what
// the viper code gives on the same port.
//
// Included by natmod.c (a dynamic native module) and usermod.c (a user C module):
// everything here is static.

#define H_MAGIC 0
#define H_SIZE 1
#define H_NPARTS 2
#define H_HEAP_START 3
#define H_HEAP_END 4
#define H_CLASSES 5
#define H_NCLASSES 6
#define H_FREE_SIZE 7
#define H_FREE_COUNT 8
#define H_MIN_FREE 9
#define H_FAIL 10
#define H_FAIL_FRAG 11
#define H_LIVE 12
#define H_POLICY 13
#define H_SMALL 14
#define H_DEBUG 15
#define H_PAGES 16
#define H_TRACE 17
#define H_TRACE_CAP 18
#define H_TRACE_POS 19
#define H_TRACE_COUNT 20
#define H_GRAN_SHIFT 21
#define H_PSTART 22
#define H_SEAL 23
#define H_IRQ 24
#define H_PARTS 25

#define PD_SIZE 0
#define PD_NBLKS 1
#define PD_START 2
#define PD_END 3
#define PD_HEAD 4
#define PD_NFREE 5
#define PD_MIN 6
#define PD_FAIL 7
#define PD_BITMAP 8
#define PD_SHIFT 9
#define PD_WORDS 10

#define POLICY_TWOENDED 2
#define POLICY_GOOD 3

#define MAGIC 0x1D6A11C0
#define USED 1
#define PREV_FREE 2
#define SIZE_MASK 0xFFFFFC
#define SLACK_SHIFT 24
#define PARITY 0x20000000
#define MIN_BLOCK 16
#define PAGE_SHIFT 8
#define NO_START 0xFF
#define GUARD_SIZE 4
#define E_PBLK (-115)
#define E_ADDR (-118)
#define E_FULL (-114)
#define E_DOUBLE (-120)
#define PD_KEY 0xA5A5A5
#define CORRUPT_AT 0x1000000
#define FREE_BAD (-0x20FFFFFD)
#define SIZE_OK 0xFFFFFF

enum { UM_MALLOC, UM_FREE, UM_GET, UM_PUT };

typedef mp_int_t I;

typedef struct _um_obj_t {
    mp_obj_base_t base;
    uint32_t *h;           // the arena's words
    mp_obj_t a;            // what the Python helpers take as w (_core.handle(w))
    mp_obj_t w;            // the arena's word view: keeps the buffer alive
    mp_obj_t dis, en;      // Python IRQ switches; None: PRIMASK on Cortex-M, else no masking
    mp_obj_t refused;      // _core._refused(code, p, what)
    mp_obj_t size_refused; // _core._refused(w, n)   (malloc's size check)
    mp_obj_t find;         // _core._find(a, need, small)  (malloc: policies other than good fit)
    I kind;
    I k;                   // get/put: the descriptor's first word
    I m;                   // get/put: 0xFFFFFF | index << 24
} um_obj_t;

#define LD(i) ((I)h[(i)])
#define ST(i, v) (h[(i)] = (uint32_t)(v))
#define BIT(n) ((I)((mp_uint_t)1 << (n)))

// Catching an exception on its way out: a native module reaches nlr through mp_fun_table
// (as the native emitter's try does), a firmware module through nlr.h's own macros.
#if MICROPY_ENABLE_DYNRUNTIME
#define UM_NLR_PUSH(buf) (mp_fun_table.nlr_push(buf))
#define UM_NLR_POP() (mp_fun_table.nlr_pop())
#define UM_NLR_JUMP(val) (mp_raise_dyn(val))
#else
#define UM_NLR_PUSH(buf) (nlr_push(buf))
#define UM_NLR_POP() (nlr_pop())
#define UM_NLR_JUMP(val) (nlr_jump(val))
#endif

#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define UM_PRIMASK (1)
#else
#define UM_PRIMASK (0)
#endif

// Interrupt masking: on Cortex-M PRIMASK itself (what machine.disable_irq does on rp2);
// Python's switches where the arena was given others (tests' stand-ins, other ports).
typedef union { mp_obj_t obj; mp_uint_t primask; } um_irq_t;

static inline um_irq_t um_irq_off(um_obj_t *o) {
    um_irq_t s;
    if (o->dis != mp_const_none) {
        s.obj = mp_call_function_n_kw(o->dis, 0, 0, NULL);
    } else {
        #if UM_PRIMASK
        mp_uint_t pm;
        __asm volatile ("mrs %0, primask" : "=r" (pm));
        __asm volatile ("cpsid i" ::: "memory");
        s.primask = pm;
        #else
        s.primask = 0;
        #endif
    }
    return s;
}

static inline void um_irq_on(um_obj_t *o, um_irq_t s) {
    if (o->dis != mp_const_none) {
        mp_call_function_n_kw(o->en, 1, 0, &s.obj);
    } else {
        #if UM_PRIMASK
        __asm volatile ("msr primask, %0" :: "r" (s.primask) : "memory");
        #endif
    }
}

static inline I um_parity(I v) {            // bit 0: parity of v's low 32 bits
    I t = v ^ (v >> 16);
    t = t ^ (t >> 8);
    return 0x6996 >> ((t ^ (t >> 4)) & 15);
}

static inline I um_class(I size) {
    I fl = 4;                               // 4 + bit length of size >> 5
    I t = size >> 5;
    while (t >= 16) {
        fl += 4;
        t = t >> 4;
    }
    while (t) {
        fl += 1;
        t = t >> 1;
    }
    return ((fl - 4) << 2) | ((size >> (fl - 2)) & 3);
}

// viper's // for a partition block index: shift-and-subtract, not a divide, because
// armv6m has no divide instruction and libgcc's would add ~550 bytes to the module
// (which a board loads into its GC heap).  Only partitions whose block size is not a
// power of two divide at all; b != 0 (its callers make 0 into 1).
static I um_floordiv(I a, I b) {
    mp_uint_t n = a < 0 ? 0 - (mp_uint_t)a : (mp_uint_t)a;
    mp_uint_t d = b < 0 ? 0 - (mp_uint_t)b : (mp_uint_t)b;
    mp_uint_t q = 0;
    mp_uint_t bit = 1;
    while (d <= n && (d >> (sizeof(mp_uint_t) * 8 - 1)) == 0) {
        d <<= 1;
        bit <<= 1;
    }
    while (bit) {                           // n ends as the remainder
        if (n >= d) {
            n -= d;
            q |= bit;
        }
        d >>= 1;
        bit >>= 1;
    }
    if ((a < 0) != (b < 0)) {
        return n ? 0 - (I)q - 1 : 0 - (I)q;
    }
    return (I)q;
}

// Python ints in and out: one call each here (a native module reaches the runtime's
// conversions through mp_fun_table, a longer call than this one).
static MP_NOINLINE I um_int(mp_obj_t v) {
    return mp_obj_get_int(v);
}
static MP_NOINLINE I um_word(mp_obj_t v) {         // as viper's int(): the low bits of any int
    return mp_obj_get_int_truncated(v);
}
static MP_NOINLINE mp_obj_t um_new_int(I v) {
    return mp_obj_new_int(v);
}

static mp_obj_t um_refuse(um_obj_t *o, I code, mp_obj_t p, qstr what) {
    mp_obj_t args[3] = { um_new_int(code), p, MP_OBJ_NEW_QSTR(what) };
    return mp_call_function_n_kw(o->refused, 3, 0, args);
}

// -- the heap's page index (_corecold._is_start, _page_start, _page_unstart) ---------
// One byte per 256-byte page of the heap at byte offset H_PAGES: the granule offset in the
// page of its first block start, or NO_START.  Read and written as bytes: the same bytes as
// the viper core's word shifts on these little-endian ports.

static inline uint8_t *um_page(uint32_t *h, I pg) {
    return (uint8_t *)h + LD(H_PAGES) + pg;
}

// The size in block x's header word v when the header holds up: even parity, bit 30
// clear, whole granules (gm: granule - 1), at least MIN_BLOCK, ending inside the heap
// (by end); else 0.  (Each caller adds its own checks; a failure here names x.)
static I um_block_size(I v, I x, I gm, I end) {
    I size = v & SIZE_MASK;
    if (((um_parity(v) | (v >> 30)) & 1) || size < MIN_BLOCK || (size & gm) || x + size > end) {
        return 0;
    }
    return size;
}

// 1 when b (inside the heap, on a granule) is a block start, 0 when not; <0 when a header
// on the walk from its page's first start is damaged (at most 16 headers: O(1))
static I um_is_start(uint32_t *h, I b) {
    I start = LD(H_HEAP_START);
    I end = LD(H_HEAP_END);
    I gshift = LD(H_GRAN_SHIFT);
    I gm = BIT(gshift) - 1;
    I pg = (b - start) >> PAGE_SHIFT;
    I x = *um_page(h, pg);
    if (x == NO_START) {
        return 0;
    }
    x = start + (pg << PAGE_SHIFT) + (x << gshift);
    while (x < b) {
        I size = um_block_size(LD(x >> 2), x, gm, end);
        if (size == 0) {
            return 0 - CORRUPT_AT - x;
        }
        x += size;
    }
    return x == b;
}

// block start s is new: its page's entry takes it if it lies below the entry's
static inline void um_page_start(uint32_t *h, I s) {
    I start = LD(H_HEAP_START);
    I pg = (s - start) >> PAGE_SHIFT;
    uint8_t *e = um_page(h, pg);
    I o = (s - start - (pg << PAGE_SHIFT)) >> LD(H_GRAN_SHIFT);
    if (o < *e) {
        *e = (uint8_t)o;
    }
}

// s is no longer a block start; e is the next one above it (or the heap's end)
static inline void um_page_unstart(uint32_t *h, I s, I e) {
    I start = LD(H_HEAP_START);
    I gshift = LD(H_GRAN_SHIFT);
    I pg = (s - start) >> PAGE_SHIFT;
    uint8_t *entry = um_page(h, pg);
    if (((s - start - (pg << PAGE_SHIFT)) >> gshift) == *entry) {
        I o = NO_START;
        if (e < LD(H_HEAP_END) && (e - start) >> PAGE_SHIFT == pg) {
            o = (e - start - (pg << PAGE_SHIFT)) >> gshift;
        }
        *entry = (uint8_t)o;
    }
}

// The block below block start t (unless t is the heap's end) went from free to used or
// back: t's header flips PREV_FREE, and the parity bit with it.
static void um_below_changed(uint32_t *h, I t) {
    if (t < LD(H_HEAP_END)) {
        ST(t >> 2, LD(t >> 2) ^ (PREV_FREE | PARITY));
    }
}

// -- the heap's helpers (_core._free_block, _links_ok, _insert, _remove) ------------

static I um_free_block(uint32_t *h, I x, I at) {
    I start = LD(H_HEAP_START);
    I end = LD(H_HEAP_END);
    I gm = BIT(LD(H_GRAN_SHIFT)) - 1;
    if (x < start || x > end - MIN_BLOCK || ((x - start) & gm)) {
        return 0 - CORRUPT_AT - at;
    }
    I v = LD(x >> 2);
    I size = um_block_size(v, x, gm, end);
    if (size == 0 || (v & FREE_BAD)) {
        return 0 - CORRUPT_AT - x;
    }
    if (LD(((x + size) >> 2) - 1) != size) {
        return 0 - CORRUPT_AT - (x + size - 4);
    }
    I r = um_is_start(h, x);
    if (r < 0) {
        return r;
    }
    if (r == 0) {
        return 0 - CORRUPT_AT - x;
    }
    return size;
}

static I um_links_ok(uint32_t *h, I b, I c) {
    I heads = (LD(H_CLASSES) >> 2) + c;
    I start = LD(H_HEAP_START);
    I gm = BIT(LD(H_GRAN_SHIFT)) - 1;
    I nxt = LD((b >> 2) + 1);
    I prv = LD((b >> 2) + 2);
    if (nxt) {
        if (nxt <= b || nxt > LD(H_HEAP_END) - MIN_BLOCK || ((nxt - start) & gm)) {
            return 0 - CORRUPT_AT - (b + 4);
        }
        if ((LD(nxt >> 2) & USED) || LD((nxt >> 2) + 2) != b) {
            return 0 - CORRUPT_AT - nxt;
        }
    }
    if (prv) {
        if (prv < start || prv >= b || ((prv - start) & gm)) {
            return 0 - CORRUPT_AT - (b + 8);
        }
        if ((LD(prv >> 2) & USED) || LD((prv >> 2) + 1) != b) {
            return 0 - CORRUPT_AT - prv;
        }
    } else if (LD(heads) != b) {
        return 0 - CORRUPT_AT - (heads << 2);
    }
    return 0;
}

// Point a list place's neighbours past it: prv's next link (or the class head, word head,
// when the place comes first) at after, nxt's previous link at before.
static void um_point(uint32_t *h, I prv, I nxt, I head, I after, I before) {
    if (prv) {
        ST((prv >> 2) + 1, after);
    } else {
        ST(head, after);
    }
    if (nxt) {
        ST((nxt >> 2) + 2, before);
    }
}

// Free block b (size bytes) between prv and nxt in its class list (word head): its header,
// footer and links, and its neighbours' links at it.
static void um_link(uint32_t *h, I b, I size, I nxt, I prv, I head) {
    ST(b >> 2, size | ((um_parity(size) & 1) << 29));
    ST(((b + size) >> 2) - 1, size);
    ST((b >> 2) + 1, nxt);
    ST((b >> 2) + 2, prv);
    um_point(h, prv, nxt, head, b, b);
}

// A block of size bytes joined (one = 1) or left (one = -1) class c's list: the free
// totals, and the class's bit in the bitmap when the list was or is now empty (no
// neighbours: linked is 0).
static void um_count(uint32_t *h, I c, I linked, I size, I one) {
    if (linked == 0) {
        I k = (LD(H_CLASSES) >> 2) + LD(H_NCLASSES) + (c >> 5);
        I bit = BIT(c & 31);
        ST(k, one > 0 ? LD(k) | bit : LD(k) & ~bit);
    }
    ST(H_FREE_SIZE, LD(H_FREE_SIZE) + one * size);
    ST(H_FREE_COUNT, LD(H_FREE_COUNT) + one);
}

static I um_insert(uint32_t *h, I b, I size) {
    I c = um_class(size);
    I heads = (LD(H_CLASSES) >> 2) + c;
    I start = LD(H_HEAP_START);
    I gm = BIT(LD(H_GRAN_SHIFT)) - 1;
    I prv = 0;
    I at = heads << 2;
    I nxt = LD(heads);
    while (nxt != 0 && nxt < b) {           // ascending: a damaged list cannot loop
        if (nxt <= prv || nxt < start || ((nxt - start) & gm) || (LD(nxt >> 2) & USED)) {
            return 0 - CORRUPT_AT - at;
        }
        prv = nxt;
        at = nxt + 4;
        nxt = LD((nxt >> 2) + 1);
    }
    if (prv && prv + MIN_BLOCK > b) {
        return 0 - CORRUPT_AT - at;
    }
    if (nxt && (nxt < b + size || nxt > LD(H_HEAP_END) - MIN_BLOCK || ((nxt - start) & gm)
                || (LD(nxt >> 2) & USED) || LD((nxt >> 2) + 2) != prv)) {
        return 0 - CORRUPT_AT - at;
    }
    um_link(h, b, size, nxt, prv, heads);
    um_count(h, c, prv | nxt, size, 1);
    return 0;
}

static I um_remove(uint32_t *h, I b, I size) {
    I c = um_class(size);
    I r = um_links_ok(h, b, c);
    if (r) {
        return r;
    }
    I nxt = LD((b >> 2) + 1);
    I prv = LD((b >> 2) + 2);
    um_point(h, prv, nxt, (LD(H_CLASSES) >> 2) + c, nxt, prv);
    um_count(h, c, prv | nxt, size, -1);
    return 0;
}

// Free block b's list neighbours point back at it, and its class head (word head) at it
// when it comes first: 0, or a damage code; when several checks fail the last one names
// the place, as in the viper code (malloc and free, which write this check out inline).
static I um_links_back(uint32_t *h, I b, I head, I start, I last, I gm) {
    I r = 0;
    I nxt = LD((b >> 2) + 1);
    I prv = LD((b >> 2) + 2);
    if (nxt) {
        if (nxt <= b || nxt > last || ((nxt - start) & gm) || (LD(nxt >> 2) & USED)
            || LD((nxt >> 2) + 2) != b) {
            r = 0 - CORRUPT_AT - (b + 4);
        }
    }
    if (prv) {
        if (prv < start || prv >= b || ((prv - start) & gm) || (LD(prv >> 2) & USED)
            || LD((prv >> 2) + 1) != b) {
            r = 0 - CORRUPT_AT - (b + 8);
        }
    } else if (LD(head) != b) {
        r = 0 - CORRUPT_AT - (head << 2);
    }
    return r;
}

// Free block nb (size bytes) takes free block old's place in their class list (word head):
// header, footer, links and the neighbours' links (old's links are read first: nb may be old).
static void um_relink(uint32_t *h, I old, I nb, I size, I head) {
    um_link(h, nb, size, LD((old >> 2) + 1), LD((old >> 2) + 2), head);
}

// (written out, not a loop over the sealed words: malloc and free check it on every call)
static I um_header_seal(uint32_t *h) {      // _core.header_seal
    return LD(H_SIZE) ^ LD(H_NPARTS) ^ LD(H_HEAP_START) ^ LD(H_HEAP_END) ^ LD(H_CLASSES)
           ^ LD(H_NCLASSES) ^ LD(H_POLICY) ^ LD(H_SMALL) ^ LD(H_DEBUG) ^ LD(H_PAGES) ^ LD(H_TRACE)
           ^ LD(H_TRACE_CAP) ^ LD(H_GRAN_SHIFT) ^ LD(H_PSTART) ^ LD(H_IRQ) ^ MAGIC;
}

// A malloc size / free, put pointer that is not a small int inside mask: viper's
// `(n & mask) is n` fails (for a type without `&`, viper raises there; here the refusal
// names the type: a clearer message, the same TypeError).
static inline bool um_in_mask(mp_obj_t n, I mask) {
    if (mp_obj_is_small_int(n)) {
        I v = MP_OBJ_SMALL_INT_VALUE(n);
        return v >= 0 && (v & ~mask) == 0;
    }
    return false;       // the refusal says what is wrong (viper's & raises its own TypeError first)
}

// free's and put's pointer: viper's `not p` first (0, None, ... refused), then the mask.
static inline bool um_ptr_ok(mp_obj_t p, I mask) {
    if (mp_obj_is_small_int(p)) {
        I v = MP_OBJ_SMALL_INT_VALUE(p);
        return v > 0 && (v & ~mask) == 0;
    }
    return false;
}

// -- a partition's OSMemGet / OSMemPut, once its descriptor's seal checked out ---------
// (malloc and Partition.get take a block this way, free and Partition.put return one)

static I um_part_seal(uint32_t *h, I d) {   // _core.part_seal of the descriptor at word d
    uint32_t *pd = h + d;
    return (I)pd[PD_SIZE] ^ (I)pd[PD_NBLKS] ^ (I)pd[PD_START] ^ (I)pd[PD_END] ^ (I)pd[PD_BITMAP]
           ^ ((I)pd[PD_SHIFT] & 31) ^ LD(H_IRQ) ^ PD_KEY;
}

// 0 when the seal over the layout words every check relies on holds: the header's
// (k = 0), or that of the partition descriptor at word k; else the damage code naming it.
static I um_seal_damage(uint32_t *h, I k) {
    bool ok = k ? um_part_seal(h, k) == (LD(k + PD_SHIFT) >> 5) : um_header_seal(h) == LD(H_SEAL);
    return ok ? 0 : 0 - CORRUPT_AT - (k << 2);
}

static I um_part_index(uint32_t *pd, I rel) {
    I v = (I)pd[PD_SHIFT];
    if (v & 31) {
        return rel >> (v & 31);
    }
    I bs = (I)pd[PD_SIZE];
    if (bs == 0) {
        bs = 1;
    }
    return um_floordiv(rel, bs);
}

// Take p, the head of the partition at word k: p, or a damage code (< 0) naming the head.
static I um_part_take(uint32_t *h, I k, I p) {
    uint32_t *pd = h + k;
    I rel = p - (I)pd[PD_START];
    I i = um_part_index(pd, rel);
    I n = ((I)pd[PD_BITMAP] >> 2) + (i >> 5);
    if (rel < 0 || p >= (I)pd[PD_END] || i * (I)pd[PD_SIZE] != rel || ((LD(n) >> (i & 31)) & 1)) {
        return 0 - CORRUPT_AT - ((k + PD_HEAD) << 2);
    }
    pd[PD_HEAD] = h[(p + 3) >> 2];
    ST(n, LD(n) | BIT(i & 31));
    n = (I)pd[PD_NFREE] - 1;
    pd[PD_NFREE] = (uint32_t)n;
    if (n < (I)pd[PD_MIN]) {
        pd[PD_MIN] = (uint32_t)n;
    }
    return p;
}

// Give q back to the partition at word k: 0, or E_PBLK / E_FULL / E_DOUBLE.
static I um_part_give(uint32_t *h, I k, I q) {
    uint32_t *pd = h + k;
    I rel = q - (I)pd[PD_START];
    I i = um_part_index(pd, rel);
    if (rel < 0 || q >= (I)pd[PD_END] || i * (I)pd[PD_SIZE] != rel) {
        return E_PBLK;
    }
    if ((I)pd[PD_NFREE] >= (I)pd[PD_NBLKS]) {
        return E_FULL;
    }
    I n = ((I)pd[PD_BITMAP] >> 2) + (i >> 5);
    I bit = BIT(i & 31);
    if ((LD(n) & bit) == 0) {
        return E_DOUBLE;
    }
    ST(n, LD(n) ^ bit);
    h[(q + 3) >> 2] = pd[PD_HEAD];
    pd[PD_HEAD] = (uint32_t)q;
    pd[PD_NFREE] += 1;
    return 0;
}

// malloc's search for the first / best / two-ended policies, _find, is Python code run
// with interrupts masked: should the call raise (the recursion limit, when malloc is
// called deep in a program's stack), unmask before the exception leaves, or the board
// would run on with interrupts off for good.
static I um_find(um_obj_t *o, um_irq_t s, I need, I small) {
    mp_obj_t args[3] = { o->a, MP_OBJ_NEW_SMALL_INT(need), MP_OBJ_NEW_SMALL_INT(small) };
    nlr_buf_t nlr;
    if (UM_NLR_PUSH(&nlr) == 0) {
        I b = um_int(mp_call_function_n_kw(o->find, 3, 0, args));
        UM_NLR_POP();
        return b;
    }
    if (o->h[H_IRQ]) {
        um_irq_on(o, s);
    }
    UM_NLR_JUMP(nlr.ret_val);
}

// malloc's good fit (see _core.py): the first fit in the request's class, else the lowest
// block of the smallest larger non-empty class; the free block ending the heap only when
// no other fits (so placements do not depend on the heap's size).  The block (its class
// in *bc), 0 when none fits, or a damage code.  (A call of its own: malloc keeps fewer
// values live, and its armv6m code is smaller.)
static MP_NOINLINE I um_good_fit(uint32_t *h, I need, I *bc) {
    I nc = LD(H_NCLASSES);
    I heads = LD(H_CLASSES) >> 2;
    I start = LD(H_HEAP_START);
    I top = LD(H_HEAP_END);
    I last = top - MIN_BLOCK;
    I wild = 0;                             // the free block ending the heap, when it fits
    I c = um_class(need);
    if (c >= nc) {
        return 0;
    }
    I at = (heads + c) << 2;
    I b = LD(heads + c);
    I lo = start - 1;
    while (b) {                             // ascending and inside the heap, or damaged
        if (b <= lo || b > last) {
            return 0 - CORRUPT_AT - at;
        }
        I size = LD(b >> 2) & SIZE_MASK;
        if (size >= need) {
            *bc = c;
            if (b + size != top) {
                return b;
            }
            wild = b;                       // (the block ending the heap is last in its list)
            break;
        }
        lo = b;
        at = b + 4;
        b = LD((b >> 2) + 1);
    }
    c += 1;                                 // the smallest non-empty larger class: its head
    I i = c >> 5;
    I nw = (nc + 31) >> 5;
    I t = 0;
    if (i < nw) {
        t = LD(heads + nc + i) & (0 - BIT(c & 31));
    }
    while (i < nw) {
        while (t) {                         // the word's set bits, lowest first
            I f = t & (0 - t);              // the lowest; its index by halving (not a loop
            t = t ^ f;                      // over the bits: malloc's usual path comes here)
            c = i << 5;
            if ((f & 0xFFFF) == 0) {
                c += 16;
                f = f >> 16;
            }
            if ((f & 0xFF) == 0) {
                c += 8;
                f = f >> 8;
            }
            if ((f & 0xF) == 0) {
                c += 4;
                f = f >> 4;
            }
            if ((f & 3) == 0) {
                c += 2;
                f = f >> 2;
            }
            if ((f & 1) == 0) {
                c += 1;
            }
            b = LD(heads + c);
            if (b < start || b > last) {    // a class head left the heap
                return 0 - CORRUPT_AT - ((heads + c) << 2);
            }
            *bc = c;
            if (b + (LD(b >> 2) & SIZE_MASK) != top) {
                return b;
            }
            wild = b;
        }
        i += 1;
        if (i < nw) {
            t = LD(heads + nc + i);
        }
    }
    return wild;
}

// -- malloc (bind_heap's closure) ----------------------------------------------------
// The calls' bodies run with interrupts masked (see um_call): each returns 0 or a refusal
// code, and malloc / get their result in *out.

static MP_NOINLINE I um_malloc(um_obj_t *o, um_irq_t s, I want, I *out) {
    uint32_t *h = o->h;
    I r = 0;
    I p = 0;
    I k = H_PARTS;                          // the smallest partition that fits and has a block
    I end = H_PARTS + LD(H_NPARTS) * PD_WORDS;
    while (k < end) {
        if (LD(k + PD_SIZE) >= want) {
            p = LD(k + PD_HEAD);
            if (p) {
                break;
            }
        }
        k += PD_WORDS;
    }
    if (p) {                                // OSMemGet, once k's seal and head check out
        r = um_seal_damage(h, k);
        if (r == 0) {
            p = um_part_take(h, k, p);
            if (p < 0) {
                r = p;
            }
        }
        if (r) {
            p = 0;
        }
    } else {                                // the heap, placed by the arena's policy
        I gran = BIT(LD(H_GRAN_SHIFT));
        I need = (want + 4 + GUARD_SIZE * LD(H_DEBUG) + gran - 1) & (0 - gran);
        if (need < MIN_BLOCK) {
            need = MIN_BLOCK;
        }
        I small = 0;
        I b = 0;
        I bc = -1;                          // b's size class, when the search knows it
        I size = 0;
        I c = 0;
        I policy = LD(H_POLICY);
        I heads = LD(H_CLASSES) >> 2;
        I start = LD(H_HEAP_START);
        I last = LD(H_HEAP_END) - MIN_BLOCK;
        I t;
        if (policy == POLICY_GOOD) {
            b = um_good_fit(h, need, &bc);
        } else {
            if (policy == POLICY_TWOENDED && need <= LD(H_SMALL)) {
                small = 1;
            }
            b = um_find(o, s, need, small);
        }
        if (b < 0) {
            r = b;
            b = 0;
        }
        if (b == 0) {
            if (r == 0) {
                ST(H_FAIL, LD(H_FAIL) + 1);
                if (LD(H_FREE_SIZE) - 4 * LD(H_FREE_COUNT) >= want) {
                    ST(H_FAIL_FRAG, LD(H_FAIL_FRAG) + 1);
                }
            }
        } else {
            I at = b;
            if (bc >= 0) {
                at = (heads + bc) << 2;
            }
            I gm = gran - 1;
            I v = LD(b >> 2);
            size = um_block_size(v, b, gm, last + MIN_BLOCK);
            I x;
            c = bc;
            if ((b - start) & gm) {
                r = 0 - CORRUPT_AT - at;
            } else if (size == 0 || (v & FREE_BAD) || LD(((b + size) >> 2) - 1) != size) {
                r = 0 - CORRUPT_AT - b;
            } else if (c < 0) {
                c = um_class(size);
            } else if ((size >> ((c >> 2) + 2)) != 4 + (c & 3)) {   // on the list of another class
                r = 0 - CORRUPT_AT - b;
            }
            if (r == 0) {                   // b must be a block start
                x = um_is_start(h, b);
                if (x < 0) {
                    r = x;
                } else if (x == 0) {
                    r = 0 - CORRUPT_AT - b;
                }
            }
            if (r == 0) {                   // b's list neighbours point back at it
                r = um_links_back(h, b, heads + c, start, last, gm);
            }
            t = b + size;                   // above a free block: a used one that knows it
            if (r == 0 && (small || size - need < MIN_BLOCK) && t < LD(H_HEAP_END)) {
                v = LD(t >> 2);
                x = um_parity(v) | (v >> 30);
                if ((x & 1) || (v & (USED | PREV_FREE)) != (USED | PREV_FREE)) {
                    r = 0 - CORRUPT_AT - t;
                }
            }
        }
        if (r == 0 && b != 0) {
            I rest = size - need;
            I flags = USED;
            if (rest >= MIN_BLOCK) {
                I old = b;                  // the free rest keeps old's place in its list
                I nb = b + need;
                if (small) {                // two-ended small: carve the top
                    nb = b;
                    b = b + rest;
                    flags = USED | PREV_FREE;
                    um_below_changed(h, b + need);
                    um_page_start(h, b);    // the new block start
                } else {
                    um_page_start(h, nb);
                }
                I fl = (c >> 2) + 4;
                if ((rest >> (fl - 2)) == (size >> (fl - 2))) {   // same class
                    um_relink(h, old, nb, rest, heads + c);
                    ST(H_FREE_SIZE, LD(H_FREE_SIZE) - need);
                } else {
                    um_remove(h, old, size);    // its links were checked above
                    r = um_insert(h, nb, rest);
                }
                size = need;
            } else {
                um_remove(h, b, size);
                um_below_changed(h, b + size);
            }
            if (r == 0) {
                I v = size | flags | ((size - 4 - want) << SLACK_SHIFT);
                ST(b >> 2, v | ((um_parity(v) & 1) << 29));
                ST(H_LIVE, LD(H_LIVE) + 1);
                t = LD(H_FREE_SIZE) - 4 * LD(H_FREE_COUNT);
                if (t < LD(H_MIN_FREE)) {
                    ST(H_MIN_FREE, t);
                }
                p = b + 4;
            }
        }
    }
    *out = p;
    return r;
}

// -- free (bind_heap's closure) ------------------------------------------------------

static MP_NOINLINE I um_free(uint32_t *h, I q) {
    I r = E_ADDR;
    I start = LD(H_HEAP_START);
    I x, t;
    if (q < start) {                        // a partition block, or no block at all
        I k = H_PARTS;
        I end = H_PARTS + LD(H_NPARTS) * PD_WORDS;
        while (k < end) {
            if (q < LD(k + PD_END)) {
                break;
            }
            k += PD_WORDS;
        }
        if (k < end && q >= LD(k + PD_START)) {   // OSMemPut, once k's seal checks out
            r = um_seal_damage(h, k);
            if (r == 0) {
                r = um_part_give(h, k, q);
            }
        }
    } else {                                // the heap: every check of heap_block(), then merge
        I b = q - 4;
        I end = LD(H_HEAP_END);
        I gshift = LD(H_GRAN_SHIFT);
        I gm = BIT(gshift) - 1;
        I v = 0;
        I size = 0;
        x = 0;
        if (b >= start && b < end) {
            r = E_PBLK;
            if (((b - start) >> gshift << gshift) + start == b) {
                x = um_is_start(h, b);
                if (x < 0) {
                    r = x;
                }
            }
            if (x > 0) {
                v = LD(b >> 2);
                size = um_block_size(v, b, gm, end);
                r = 0 - CORRUPT_AT - b;
                if (size) {
                    r = E_DOUBLE;
                    if (v & USED) {
                        r = 0;
                    }
                }
            }
        }
        I nb = b + size;
        I nsize = 0;                        // size of a free block above, if any
        I old = 0;                          // a free block below, if any
        I osize = 0;
        if (r == 0 && nb < end) {           // the header above must know b is used
            t = LD(nb >> 2);
            x = um_parity(t) | (t >> 30);
            if ((x & 1) || (t & PREV_FREE)) {
                r = 0 - CORRUPT_AT - nb;
            } else if ((t & USED) == 0) {   // _free_block(a, nb, nb) written out, but for the
                nsize = um_block_size(t, nb, gm, end);   // walk: b is a block start, so nb is one
                if (nsize == 0 || (t & FREE_BAD) || LD(((nb + nsize) >> 2) - 1) != nsize) {
                    r = 0 - CORRUPT_AT - nb;
                    nsize = 0;
                }
            }
        }
        if (r == 0 && (v & PREV_FREE)) {   // the footer below names a free block ending at b
            t = LD((b >> 2) - 1);
            if (t < MIN_BLOCK || t > b - start) {
                r = 0 - CORRUPT_AT - (b - 4);
            } else {
                old = b - t;
                osize = um_free_block(h, old, b - 4);
                if (osize < 0) {
                    r = osize;
                } else if (osize != t) {
                    r = 0 - CORRUPT_AT - (b - 4);
                }
            }
        }
        if (r == 0 && old != 0 && nsize != 0) {
            r = um_remove(h, nb, nsize);
        }
        if (r == 0) {
            I f = old;                      // the free block whose list place the result takes
            if (v & PREV_FREE) {            // merge into the free block below
                b = old;
                size = osize + size + nsize;
            } else if (nsize) {             // b takes the place of the free block above
                f = nb;
                osize = nsize;
                size = size + nsize;
            }
            if (f) {
                I c = um_class(osize);
                I fl = (c >> 2) + 4;
                if ((size >> (fl - 2)) == (osize >> (fl - 2))) {   // same class
                    I heads = (LD(H_CLASSES) >> 2) + c;            // _links_ok(a, f, c)
                    r = um_links_back(h, f, heads, start, end - MIN_BLOCK, BIT(gshift) - 1);
                    if (r == 0) {
                        um_relink(h, f, b, size, heads);
                        ST(H_FREE_SIZE, LD(H_FREE_SIZE) + size - osize);
                    }
                } else {
                    r = um_remove(h, f, osize);
                    if (r == 0) {
                        r = um_insert(h, b, size);
                    }
                }
            } else {
                r = um_insert(h, b, size);
            }
        }
        if (r == 0) {                       // the lists agree: now the page index and flags
            if (nsize == 0) {
                um_below_changed(h, nb);
            }
            if (old) {                      // the starts the merge removed; b + size ends it
                um_page_unstart(h, q - 4, b + size);
            }
            if (nsize) {
                um_page_unstart(h, nb, b + size);
            }
            ST(H_LIVE, LD(H_LIVE) - 1);
        }
    }
    return r;
}

// -- Partition.get / put (_corepart's closures) --------------------------------------

static I um_get(uint32_t *h, I k, I *out) {
    I p = LD(k + PD_HEAD);
    if (p) {                                // a free block of this partition, or damage
        p = um_part_take(h, k, p);
    } else {
        ST(k + PD_FAIL, LD(k + PD_FAIL) + 1);
    }
    if (p < 0) {
        return p;
    }
    *out = p;
    return 0;
}

// -- the type's call slot and the module's functions -----------------------------------

// The work of one call, with interrupts masked: 0 or a refusal code; a result in *out.
// (malloc and free are calls of their own: inlined here they would spill more registers.)
static inline I um_work(um_obj_t *o, um_irq_t s, I q, I *out) {
    uint32_t *h = o->h;
    switch (o->kind) {
        case UM_MALLOC:
            return um_malloc(o, s, q, out);
        case UM_FREE:
            return um_free(h, q);
        case UM_GET:
            return um_get(h, o->k, out);
        default:
            return um_part_give(h, o->k, q);
    }
}

// One frame for all four calls, in the order of the viper closures: the argument's
// check, the seal's (the header's, or the partition descriptor's for get/put), then the
// work with interrupts masked, then the refusal (after unmasking) or the result.
static mp_obj_t um_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    um_obj_t *o = MP_OBJ_TO_PTR(self_in);
    I kind = o->kind;
    size_t want = kind == UM_GET ? 0 : 1;
    mp_arg_check_num(n_args, n_kw, want, want, false);
    mp_obj_t arg = want ? args[0] : mp_const_none;
    uint32_t *h = o->h;
    I k = o->k;                             // 0 for malloc and free
    I r = 0;
    I out = 0;
    if (kind == UM_MALLOC) {
        if (!um_in_mask(arg, SIZE_OK)) {
            mp_obj_t sargs[2] = { o->a, arg };
            return mp_call_function_n_kw(o->size_refused, 2, 0, sargs);
        }
    } else if (kind != UM_GET && !um_ptr_ok(arg, o->m)) {   // o->m: SIZE_OK for free
        r = kind == UM_FREE ? E_ADDR : E_PBLK;
    }
    if (r == 0) {
        r = um_seal_damage(h, k);
    }
    I irq = LD(H_IRQ);
    if (r == 0) {
        um_irq_t s = { 0 };
        if (irq) {
            s = um_irq_off(o);
        }
        r = um_work(o, s, MP_OBJ_SMALL_INT_VALUE(arg), &out);   // (get: no argument, unused)
        if (kind < UM_GET) {                // malloc and free read the word again, as viper
            irq = LD(H_IRQ);
        }
        if (irq) {
            um_irq_on(o, s);
        }
    }
    if (r) {
        return um_refuse(o, r, arg, kind == UM_MALLOC ? MP_QSTR_malloc : kind == UM_FREE ? MP_QSTR_free
                         : kind == UM_GET ? MP_QSTR_get : MP_QSTR_put);
    }
    if (out) {
        return MP_OBJ_NEW_SMALL_INT(out);
    }
    return mp_const_none;
}

// The arena's words from w, as viper's ptr32(w) / ptr8(w): its word view (a buffer) or
// its address (_core.handle(w)).
static void *um_ptr(mp_obj_t b) {
    mp_buffer_info_t info;
    if (mp_get_buffer(b, &info, MP_BUFFER_READ)) {
        return info.buf;
    }
    return (void *)(mp_uint_t)um_word(b);
}

// heap(a, w, dis, en, refused, size_refused, find) -> (malloc, free);
// part(a, w, dis, en, refused, i) -> (get, put) of the partition of index i
static mp_obj_t um_pair_impl(const mp_obj_type_t *type, size_t n_args, const mp_obj_t *args) {
    I heap = n_args == 7;
    I i = heap ? 0 : um_int(args[5]);
    uint32_t *h = um_ptr(args[1]);
    mp_obj_t out[2];
    for (int j = 0; j < 2; j++) {
        um_obj_t *o = mp_obj_malloc(um_obj_t, type);
        o->h = h;
        o->a = args[0];
        o->w = args[1];
        o->dis = args[2];
        o->en = args[3];
        o->refused = args[4];
        o->size_refused = heap ? args[5] : mp_const_none;
        o->find = heap ? args[6] : mp_const_none;
        o->kind = (heap ? UM_MALLOC : UM_GET) + j;
        o->k = heap ? 0 : H_PARTS + PD_WORDS * i;
        o->m = SIZE_OK | (i << 24);
        out[j] = MP_OBJ_FROM_PTR(o);
    }
    return mp_obj_new_tuple(2, out);
}

// The viper helpers' signatures, for _layout and the cold code: (w, b: int, size: int).
static mp_obj_t um_helper(I (*helper)(uint32_t *h, I x, I y), mp_obj_t w, mp_obj_t x, mp_obj_t y) {
    return um_new_int(helper(um_ptr(w), um_int(x), um_int(y)));
}

static mp_obj_t um_insert_fn(mp_obj_t w, mp_obj_t b, mp_obj_t size) {
    return um_helper(um_insert, w, b, size);
}
static MP_DEFINE_CONST_FUN_OBJ_3(um_insert_obj, um_insert_fn);

static mp_obj_t um_remove_fn(mp_obj_t w, mp_obj_t b, mp_obj_t size) {
    return um_helper(um_remove, w, b, size);
}
static MP_DEFINE_CONST_FUN_OBJ_3(um_remove_obj, um_remove_fn);

static mp_obj_t um_free_block_fn(mp_obj_t w, mp_obj_t x, mp_obj_t at) {
    return um_helper(um_free_block, w, x, at);
}
static MP_DEFINE_CONST_FUN_OBJ_3(um_free_block_obj, um_free_block_fn);

static mp_obj_t um_size_class_fn(mp_obj_t size) {
    return um_new_int(um_class(um_int(size)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(um_size_class_obj, um_size_class_fn);

// -- word and byte access for Arena's layout and the cold Python code ----------------
// _core's viper ld/st/fill/_bit/_address where the C core exists (the viper ones, in
// _coreviper, load only without it): the same conversions as viper's ptr32/ptr8 and
// `int` arguments, so both give the same values on the same port (um_ptr: ptr32 / ptr8).

static mp_obj_t um_ld_fn(mp_obj_t w, mp_obj_t i) {
    uint32_t *h = um_ptr(w);
    return um_new_int(LD(um_word(i)));
}
static MP_DEFINE_CONST_FUN_OBJ_2(um_ld_obj, um_ld_fn);

static mp_obj_t um_st_fn(mp_obj_t w, mp_obj_t i, mp_obj_t v) {
    uint32_t *h = um_ptr(w);
    ST(um_word(i), um_word(v));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(um_st_obj, um_st_fn);

// fill(b, off, n, value): n bytes of value from byte off
static mp_obj_t um_fill_fn(size_t n_args, const mp_obj_t *args) {
    uint8_t *m = um_ptr(args[0]);
    I off = um_word(args[1]);
    I end = off + um_word(args[2]);
    uint8_t value = (uint8_t)um_word(args[3]);
    if (off < end) {
        memset(m + off, value, end - off);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(um_fill_obj, 4, 4, um_fill_fn);

static mp_obj_t um_address_fn(mp_obj_t b) {   // int(ptr8(b))
    return um_new_int((I)(mp_uint_t)um_ptr(b));
}
static MP_DEFINE_CONST_FUN_OBJ_1(um_address_obj, um_address_fn);

// The seals over the layout (see "seals" in _core.py): header_seal(w), part_seal(w, d) and
// seal_layout(w), which writes them once Arena() has written the layout.
static mp_obj_t um_header_seal_fn(mp_obj_t w) {
    return um_new_int(um_header_seal(um_ptr(w)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(um_header_seal_obj, um_header_seal_fn);

static mp_obj_t um_part_seal_fn(mp_obj_t w, mp_obj_t d) {
    uint32_t *h = um_ptr(w);
    return um_new_int(um_part_seal(h, um_word(d)));
}
static MP_DEFINE_CONST_FUN_OBJ_2(um_part_seal_obj, um_part_seal_fn);

static mp_obj_t um_seal_layout_fn(mp_obj_t w) {
    uint32_t *h = um_ptr(w);
    ST(H_SEAL, um_header_seal(h));
    for (I d = H_PARTS; d < H_PARTS + LD(H_NPARTS) * PD_WORDS; d += PD_WORDS) {
        ST(d + PD_SHIFT, (LD(d + PD_SHIFT) & 31) | (um_part_seal(h, d) << 5));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(um_seal_layout_obj, um_seal_layout_fn);
