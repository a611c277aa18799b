# Runs device test functions inside MicroPython and prints one line per test:
#   PASS name   |   FAIL name   followed by the traceback, then END.
# Usage: micropython _mprunner.py MODULE [TEST ...]
# On a board over serial: import _mprunner; _mprunner.run("MODULE")
import sys


def run(module_name, names=()):
    try:
        module = __import__(module_name)
    except ImportError as exc:   # the firmware lacks something the module needs (_thread...)
        print("NOIMPORT", module_name, exc)
        print("END")
        return
    names = names or sorted(n for n in dir(module) if n.startswith("test_"))
    for name in names:
        try:
            getattr(module, name)()
        except Exception as exc:  # report every failure, keep going
            print("FAIL", name)
            sys.print_exception(exc)
        else:
            print("PASS", name)
    print("END")


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2:])
