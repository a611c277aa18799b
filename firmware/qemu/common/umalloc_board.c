// Board glue for umalloc's QEMU boards: a boot sequence like a real port's (mount
// a filesystem, run boot.py and main.py), Ctrl-C while code runs, machine.Timer,
// alignment faults like an RP2040 (Cortex-M0+ build), and a RAM disk that
// survives soft resets.  Hooked in with the linker's --wrap (see board.mk).
#include "py/runtime.h"
#include "py/binary.h"
#include "py/gc.h"
#include "py/objarray.h"
#include "py/mphal.h"
#include "py/ringbuf.h"
#include "shared/runtime/interrupt_char.h"
#include "shared/runtime/pyexec.h"
#include "shared/runtime/softtimer.h"

#define RAMDISK_BYTES (512 * 1024)
static uint8_t ramdisk[RAMDISK_BYTES] __attribute__((aligned(4)));

const mp_obj_array_t umalloc_board_ramdisk_obj = {
    { &mp_type_bytearray }, BYTEARRAY_TYPECODE, 0, RAMDISK_BYTES, ramdisk,
};

// Characters the VM hook took off the UART while looking for Ctrl-C.
static uint8_t rx_pending_buf[256];
static ringbuf_t rx_pending = { rx_pending_buf, sizeof(rx_pending_buf), 0, 0 };

int __real_uart_rx_chr(void);
int __real_uart_rx_any(void);

int __wrap_uart_rx_any(void) {
    return ringbuf_avail(&rx_pending) > 0 || __real_uart_rx_any();
}

int __wrap_uart_rx_chr(void) {
    int c = ringbuf_get(&rx_pending);
    if (c < 0) {
        c = __real_uart_rx_chr();
    }
    if (c < 0) {
        // The REPL is idle, waiting for a key: run scheduled callbacks (timer
        // callbacks, micropython.schedule) as a real port's idle loop does.
        mp_handle_pending(MP_HANDLE_PENDING_CALLBACKS_ONLY);
    }
    return c;
}

void umalloc_board_poll_uart(void) {
    // Stop reading when the buffer is full: the UART then holds the next byte
    // and QEMU holds back the rest, so nothing is lost.
    while (ringbuf_free(&rx_pending) > 0 && __real_uart_rx_any()) {
        int c = __real_uart_rx_chr();
        if (c < 0) {
            break;
        }
        if (c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
        } else {
            ringbuf_put(&rx_pending, c);
        }
    }
}

// time.sleep_ms() and friends: while waiting, run timer callbacks and notice
// Ctrl-C, as a real port's delay does (the port's own loop only spins).
void mp_hal_delay_ms(mp_uint_t ms);
void __wrap_mp_hal_delay_ms(mp_uint_t ms) {
    mp_uint_t start = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - start < ms) {
        umalloc_board_poll_uart();
        mp_handle_pending(MP_HANDLE_PENDING_CALLBACKS_AND_EXCEPTIONS);
    }
}

// -- machine.Timer: soft timers, checked on every SysTick (1 ms) --

static volatile uint32_t timer_due_ms;
static volatile bool timer_armed;

uint32_t soft_timer_get_ms(void) {
    return mp_hal_ticks_ms();
}

void soft_timer_schedule_at_ms(uint32_t ticks_ms) {
    timer_due_ms = ticks_ms;
    timer_armed = true;
}

void __real_SysTick_Handler(void);

void __wrap_SysTick_Handler(void) {
    __real_SysTick_Handler();
    if (timer_armed && (int32_t)(mp_hal_ticks_ms() - timer_due_ms) >= 0) {
        timer_armed = false;
        soft_timer_handler();    // Python callbacks only get scheduled here
    }
}

// Timers live in the GC heap but are reachable only from the soft timer list.
void __real_gc_collect_end(void);

void __wrap_gc_collect_end(void) {
    soft_timer_gc_mark_all();
    __real_gc_collect_end();
}

// -- boot and soft reset --

void __real_mp_init(void);

void __wrap_mp_init(void) {
    #if UMALLOC_BOARD_UNALIGN_TRAP
    // Fault on unaligned word access (CCR.UNALIGN_TRP), as ARMv6-M always does.
    *(volatile uint32_t *)0xE000ED14 |= 1 << 3;
    #endif
    __real_mp_init();
    pyexec_frozen_module("_board_boot.py", false);
    // Like a real port: boot.py after every reset, main.py only for the friendly REPL.
    int ret = pyexec_file_if_exists("boot.py");
    if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL && ret != 0) {
        pyexec_file_if_exists("main.py");
    }
}

void __real_mp_deinit(void);

void __wrap_mp_deinit(void) {
    // Timers in the old heap must not fire into the next session.
    soft_timer_deinit();
    __real_mp_deinit();
}

// littlefs stamps files with this; the board has no RTC, so time since boot.
uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_us() * 1000;
}
