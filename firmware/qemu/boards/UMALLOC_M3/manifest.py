# The board's own frozen files: the boot script that mounts the RAM disk, and
# asyncio (real ports freeze it too).  The qemu port builds without the _asyncio
# C module, so the pure-Python task.py comes along.  firmware/manifest.py
# includes this file when it freezes umalloc as well.
freeze("$(BOARD_DIR)/../../common", "_board_boot.py")
package("asyncio", ("__init__.py", "core.py", "event.py", "funcs.py", "lock.py", "stream.py",
                    "task.py"), base_path="$(MPY_DIR)/extmod", opt=3)
