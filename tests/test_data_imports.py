"""tfbinding.data imports no TensorFlow: the data rules' environment has none."""
import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import tfbinding.data as data
for module in pkgutil.walk_packages(data.__path__, "tfbinding.data."):
    importlib.import_module(module.name)
import tfbinding
tfbinding.load_dataset
print(sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
"""


def test_data_stage_imports_no_tensorflow():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
