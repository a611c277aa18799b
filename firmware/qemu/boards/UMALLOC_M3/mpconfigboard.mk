# Cortex-M3 (ARMv7-M, Thumb-2) on QEMU's mps2-an385: the core QEMU really emulates.
# Unaligned word access is allowed, as on real Cortex-M3/M4 silicon.
CPU_FLAGS = -mthumb -mcpu=cortex-m3
MCU_NAME = Cortex-M3
GCHELPER = gchelper_thumb2
MPY_CROSS_ARCH = armv7m
CFLAGS += -DUMALLOC_BOARD_UNALIGN_TRAP=0
include $(BOARD_DIR)/../../common/board.mk
