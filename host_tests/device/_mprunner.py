# Runs device test functions inside MicroPython and prints one line per test:
#   PASS name   |   FAIL name   followed by the traceback, then END.
# Usage: micropython _mprunner.py MODULE [TEST ...]
import sys


def main(argv):
    module = __import__(argv[1])
    names = argv[2:] or sorted(n for n in dir(module) if n.startswith("test_"))
    for name in names:
        try:
            getattr(module, name)()
        except Exception as exc:  # report every failure, keep going
            print("FAIL", name)
            sys.print_exception(exc)
        else:
            print("PASS", name)
    print("END")


main(sys.argv)
