// Board options for umalloc's QEMU boards, force-included into every C file of
// the qemu port build (CFLAGS -include), so MicroPython itself stays unpatched.
#include <stdint.h>

// os.uname() (mpremote and users ask it what the board is).
#define MICROPY_PY_OS_UNAME (1)

// machine.disable_irq()/enable_irq(): PRIMASK, as on a real Cortex-M.
#define MICROPY_PY_MACHINE_DISABLE_IRQ_ENABLE_IRQ (1)
static inline uint32_t umalloc_board_irq_save(void) {
    uint32_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}
static inline void umalloc_board_irq_restore(uint32_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}
#define MICROPY_BEGIN_ATOMIC_SECTION() umalloc_board_irq_save()
#define MICROPY_END_ATOMIC_SECTION(state) umalloc_board_irq_restore(state)

// machine.Timer: MicroPython's soft timers, driven from SysTick.  The soft timer
// list is shared with the SysTick handler, so "PendSV level" here means IRQs off.
#define MICROPY_PY_MACHINE_TIMER (1)
#define MICROPY_PY_PENDSV_ENTER uint32_t umalloc_pendsv_state = umalloc_board_irq_save()
#define MICROPY_PY_PENDSV_EXIT umalloc_board_irq_restore(umalloc_pendsv_state)

// Ctrl-C reaches running code: the VM polls the UART every few branches.
void umalloc_board_poll_uart(void);
#define MICROPY_VM_HOOK_COUNT (64)
#define MICROPY_VM_HOOK_INIT static unsigned int vm_hook_divisor = MICROPY_VM_HOOK_COUNT;
#define MICROPY_VM_HOOK_POLL if (--vm_hook_divisor == 0) { \
        vm_hook_divisor = MICROPY_VM_HOOK_COUNT; \
        umalloc_board_poll_uart(); \
}
#define MICROPY_VM_HOOK_LOOP MICROPY_VM_HOOK_POLL
#define MICROPY_VM_HOOK_RETURN MICROPY_VM_HOOK_POLL

// machine.ramdisk: a bytearray over static RAM outside the GC heap, for littlefs;
// machine.Timer from extmod/machine_timer.c.
#define MICROPY_PY_MACHINE_EXTRA_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_ramdisk), MP_ROM_PTR(&umalloc_board_ramdisk_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_Timer), MP_ROM_PTR(&machine_timer_type) },
extern const struct _mp_obj_array_t umalloc_board_ramdisk_obj;
extern const struct _mp_obj_type_t machine_timer_type;
