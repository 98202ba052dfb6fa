# lit configuration for hyc's FileCheck tests (tests/lit mirrors source paths).
import os

import lit.formats

config.name = "hyc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hyc_obj_root, "tests", "lit")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in", "Inputs"]

# hyc's tools first, then LLVM's FileCheck/not from the same LLVM 22 install.
for d in (config.llvm_tools_dir, config.hyc_tools_dir):
    config.environment["PATH"] = d + os.pathsep + config.environment.get("PATH", os.environ["PATH"])
# Tools are found through PATH (no substitutions: "hyc" would also match
# inside "hyc-opt").
