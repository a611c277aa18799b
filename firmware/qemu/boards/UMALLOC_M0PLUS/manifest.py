# The board's own frozen file: the boot script that mounts the RAM disk.
# firmware/manifest.py includes this one when it freezes umalloc too.
freeze("$(BOARD_DIR)/../../common", "_board_boot.py")
