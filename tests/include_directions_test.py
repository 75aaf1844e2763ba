#!/usr/bin/env python3
"""The include-direction checker (include_directions.py) on small temporary trees: it passes an
allowed graph and fails each kind of forbidden include, so the check on the real tree can fail."""

import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import include_directions as check  # noqa: E402


class Tree:
    """A temporary source tree of files given as {path: text}."""

    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        for rel, text in files.items():
            path = os.path.join(self.dir.name, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)

    def violations(self):
        return check.violations(self.dir.name)

    def exit_status(self):
        with contextlib.redirect_stdout(io.StringIO()):
            return check.main(["--root", self.dir.name])

    def close(self):
        self.dir.cleanup()


def inc(*names):
    return "".join(f'#include "{n}"\n' for n in names)


# A tree that follows the rules: every part includes only what it may.
ALLOWED_TREE = {
    "common/error.hpp": "#pragma once\n#include <string>\n",
    "model/graph.hpp": inc("common/error.hpp"),
    "data/dataset.hpp": inc("model/graph.hpp"),
    "evaluator/executor.hpp": inc("data/dataset.hpp", "model/graph.hpp"),
    "compressors/apply.hpp": inc("evaluator/executor.hpp"),
    "hwmodels/profile.hpp": inc("evaluator/executor.hpp"),
    "storage/storage.hpp": inc("common/error.hpp"),
    "search/moo/pareto.hpp": inc("common/error.hpp"),
    "search/samplers/sampler.hpp": inc("search/moo/pareto.hpp"),
    "search/study/study.hpp": inc("search/samplers/sampler.hpp", "storage/storage.hpp",
                                  "compressors/apply.hpp", "hwmodels/profile.hpp"),
    "search/report/front.hpp": inc("search/moo/pareto.hpp", "storage/storage.hpp"),
    "cli/main.cpp": inc("search/study/study.hpp", "search/report/front.hpp"),
    "bench/problems/zdt.hpp": inc("search/samplers/sampler.hpp"),
    "bench/stats.hpp": "#pragma once\n",
    "bench/bench.cpp": inc("stats.hpp", "bench/problems/zdt.hpp", "search/study/study.hpp"),
    "tests/model/graph_test.cpp": inc("cli/main.cpp", "tests/whatever.hpp"),
    "examples/train.py": "import torch\n",
}


class IncludeDirections(unittest.TestCase):
    def tree(self, files):
        t = Tree(files)
        self.addCleanup(t.close)
        return t

    def with_file(self, rel, text):
        return self.tree({**ALLOWED_TREE, rel: text})

    def test_allowed_tree_passes(self):
        t = self.tree(ALLOWED_TREE)
        self.assertEqual(t.violations(), [])
        self.assertEqual(t.exit_status(), 0)

    def assert_fails(self, tree, *needles):
        found = tree.violations()
        self.assertEqual(len(found), 1, found)
        for n in needles:
            self.assertIn(n, found[0])
        self.assertEqual(tree.exit_status(), 1)

    def test_model_reaching_up_to_the_evaluator_fails(self):
        t = self.with_file("model/onnx_load.cpp", inc("model/graph.hpp", "evaluator/executor.hpp"))
        self.assert_fails(t, "model/onnx_load.cpp:2:", "model may not include evaluator")

    def test_storage_including_search_fails(self):
        t = self.with_file("storage/types.cpp", inc("search/study/study.hpp"))
        self.assert_fails(t, "storage may not include search/study")

    def test_storage_including_model_fails(self):
        t = self.with_file("storage/types.cpp", inc("model/graph.hpp"))
        self.assert_fails(t, "storage may not include model")

    def test_including_cli_fails(self):
        t = self.with_file("search/study/problem.cpp", inc("cli/main.cpp"))
        self.assert_fails(t, "search/study may not include cli")

    def test_moo_including_samplers_fails(self):
        t = self.with_file("search/moo/knee.cpp", inc("search/samplers/sampler.hpp"))
        self.assert_fails(t, "search/moo may not include search/samplers")

    def test_samplers_including_study_fails(self):
        t = self.with_file("search/samplers/bo.cpp", inc("search/study/study.hpp"))
        self.assert_fails(t, "search/samplers may not include search/study")

    def test_hwmodels_including_compressors_fails(self):
        t = self.with_file("hwmodels/runnable.cpp", inc("compressors/apply.hpp"))
        self.assert_fails(t, "hwmodels may not include compressors")

    def test_angle_brackets_count_too(self):
        t = self.with_file("storage/types.cpp",
                           "#include <search/study/study.hpp>\n#include <string>\n")
        self.assert_fails(t, "#include <search/study/study.hpp>", "storage may not include")

    def test_source_including_tests_fails(self):
        t = self.tree({**ALLOWED_TREE, "tests/helper.hpp": "",
                       "model/x.cpp": inc("tests/helper.hpp")})
        self.assert_fails(t, "includes nothing of tests/")

    def test_missing_header_fails(self):
        t = self.with_file("compressors/prune.cpp", inc("compressors/no_such.hpp"))
        self.assert_fails(t, "no such header")

    def test_folder_without_rules_fails(self):
        t = self.with_file("plugins/x.cpp", inc("model/graph.hpp"))
        self.assert_fails(t, "folder 'plugins' has no rules")

    def test_build_trees_are_skipped(self):
        t = self.tree({**ALLOWED_TREE, "build/CMakeCache.txt": "",
                  "build/gen/x.cpp": inc("cli/main.cpp")})
        self.assertEqual(t.violations(), [])

    def test_rules_have_no_cycle(self):
        self.assertIsNone(check.cycle_in(check.ALLOWED))
        self.assertEqual(check.cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}),
                         ["a", "b", "c", "a"])

    def test_nothing_may_include_cli(self):
        for part, allowed in check.ALLOWED.items():
            self.assertNotIn("cli", allowed, part)


if __name__ == "__main__":
    unittest.main()
