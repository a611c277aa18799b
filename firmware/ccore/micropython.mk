# umalloc's C core as a user C module (make-based ports): USER_C_MODULES=<umalloc>/firmware
# (firmware/Makefile's frozen qemu image passes it).
UMCORE_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(UMCORE_DIR)/usermod.c
CFLAGS_USERMOD += -I$(UMCORE_DIR)
