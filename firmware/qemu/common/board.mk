# Settings both umalloc QEMU boards share (included by their mpconfigboard.mk,
# after the board set CPU_FLAGS, MCU_NAME, GCHELPER and MPY_CROSS_ARCH).
UMALLOC_QEMU_COMMON := $(abspath $(BOARD_DIR)/../../common)

QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += $(CPU_FLAGS) -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"$(MCU_NAME)"'
CFLAGS += -include $(UMALLOC_QEMU_COMMON)/umalloc_board.h

LDSCRIPT = mcu/arm/mps2.ld
# --wrap hooks the board into the port without patching MicroPython: boot.py/main.py
# after mp_init, Ctrl-C and the idle scheduler in the UART reads and in sleep_ms,
# machine.Timer on SysTick.
LDFLAGS += -Wl,--wrap=mp_init -Wl,--wrap=mp_deinit -Wl,--wrap=uart_rx_chr -Wl,--wrap=uart_rx_any
LDFLAGS += -Wl,--wrap=SysTick_Handler -Wl,--wrap=gc_collect_end -Wl,--wrap=mp_hal_delay_ms

SRC_C += $(UMALLOC_QEMU_COMMON)/umalloc_board.c shared/runtime/softtimer.c shared/runtime/mpirq.c
SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/$(GCHELPER).o

MICROPY_VFS_LFS2 = 1
MICROPY_HEAP_SIZE = 196608
MPY_CROSS_FLAGS += -march=$(MPY_CROSS_ARCH)
FROZEN_MANIFEST ?= $(BOARD_DIR)/manifest.py
# The manifests need nothing from micropython-lib (a submodule many checkouts lack).
MPY_LIB_DIR = $(UMALLOC_QEMU_COMMON)
