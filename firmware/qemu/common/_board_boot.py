# Mount littlefs on the RAM disk at /, formatting it on first boot only, so
# files written by mpremote/deploy survive soft resets (not a QEMU restart).
import sys
import vfs
import machine


class RAMDisk:
    BLOCK = 512

    def __init__(self, buf):
        self.mem = memoryview(buf)

    def readblocks(self, block, out, offset=0):
        start = block * self.BLOCK + offset
        out[:] = self.mem[start:start + len(out)]

    def writeblocks(self, block, data, offset=0):
        start = block * self.BLOCK + offset
        self.mem[start:start + len(data)] = data

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.mem) // self.BLOCK
        if op == 5:
            return self.BLOCK
        if op == 6:
            return 0
        return None


_disk = RAMDisk(machine.ramdisk)
try:
    vfs.mount(_disk, "/")
except OSError:
    vfs.VfsLfs2.mkfs(_disk)
    vfs.mount(_disk, "/")
if "/lib" not in sys.path:
    sys.path.append("/lib")
del _disk
