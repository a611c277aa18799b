// umalloc's C core as a dynamic native module (_umcore.mpy): see umcore.c.
#include "py/dynruntime.h"

// fill() calls memset: a native module reaches the firmware's through mp_fun_table
void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

#include "umcore.c"

// The type with the one slot it fills (call): a full type has eleven, 40 more bytes of
// the module's RAM.  (A flexible array member given an initializer: GCC's extension, as
// in MicroPython's own MP_DEFINE_CONST_OBJ_TYPE.)
mp_obj_type_t um_type = { .slots = { NULL } };

// heap() and part() differ in their argument count alone
static mp_obj_t pair(size_t n_args, const mp_obj_t *args) {
    return um_pair_impl((const mp_obj_type_t *)&um_type, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(heap_obj, 7, 7, pair);
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(part_obj, 6, 6, pair);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    um_type.base.type = (void *)&mp_type_type;
    um_type.name = MP_QSTR_umcore;
    MP_OBJ_TYPE_SET_SLOT(&um_type, call, um_call, 0);

    mp_store_global(MP_QSTR_heap, MP_OBJ_FROM_PTR(&heap_obj));
    mp_store_global(MP_QSTR_part, MP_OBJ_FROM_PTR(&part_obj));
    mp_store_global(MP_QSTR_insert, MP_OBJ_FROM_PTR(&um_insert_obj));
    mp_store_global(MP_QSTR_remove, MP_OBJ_FROM_PTR(&um_remove_obj));
    mp_store_global(MP_QSTR__free_block, MP_OBJ_FROM_PTR(&um_free_block_obj));
    mp_store_global(MP_QSTR_size_class, MP_OBJ_FROM_PTR(&um_size_class_obj));
    mp_store_global(MP_QSTR_ld, MP_OBJ_FROM_PTR(&um_ld_obj));
    mp_store_global(MP_QSTR_st, MP_OBJ_FROM_PTR(&um_st_obj));
    mp_store_global(MP_QSTR_fill, MP_OBJ_FROM_PTR(&um_fill_obj));
    mp_store_global(MP_QSTR__address, MP_OBJ_FROM_PTR(&um_address_obj));
    mp_store_global(MP_QSTR_header_seal, MP_OBJ_FROM_PTR(&um_header_seal_obj));
    mp_store_global(MP_QSTR_part_seal, MP_OBJ_FROM_PTR(&um_part_seal_obj));
    mp_store_global(MP_QSTR_seal_layout, MP_OBJ_FROM_PTR(&um_seal_layout_obj));
    mp_store_global(MP_QSTR_PRIMASK, MP_OBJ_NEW_SMALL_INT(UM_PRIMASK));

    MP_DYNRUNTIME_INIT_EXIT
}
