# Cortex-M0+ (ARMv6-M, like an RP2040) on QEMU's mps2-an385.  QEMU has no M0 core
# for the mps2 boards (it emulates a Cortex-M3): this image uses only ARMv6-M
# instructions, reports armv6m, and turns on the alignment trap so an unaligned
# word access faults as it does on an RP2040.
CPU_FLAGS = -mthumb -mcpu=cortex-m0plus
MCU_NAME = Cortex-M0+
GCHELPER = gchelper_thumb1
MPY_CROSS_ARCH = armv6m
CFLAGS += -DUMALLOC_BOARD_UNALIGN_TRAP=1
include $(BOARD_DIR)/../../common/board.mk
