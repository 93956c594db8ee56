# A source-to-source tool (a linter or code generator): generated Python source is parsed with ast, every node gets
# a parent link (reference cycles, as such tools keep them), a NodeTransformer folds constants and renames, and the
# result is unparsed and compiled.  Allocation character: a large tree of small objects in cycles, freed by the GC.
import ast
import gc
import random

import _kit
import pyalloc_mark


def source(rng, functions):
    out = []
    for f in range(functions):
        body = [f"    v{k} = ({rng.randrange(100)} + {rng.randrange(100)}) * a - b / {rng.randrange(1, 9)}"
                for k in range(8)]
        body += [f"    if v{rng.randrange(8)} > {rng.randrange(1000)}:", f"        return [v0, v1, 'f{f}'] * 2",
                 "    for i in range(3):", "        a = a + i * 2 + 3 * 4", "    return {'a': a, 'b': b}"]
        out.append(f"def f{f}(a, b):\n" + "\n".join(body))
    return "\n\n".join(out)


class Fold(ast.NodeTransformer):
    """Folds constant arithmetic and renames locals v<k> to tmp_<k>."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant) and \
                isinstance(node.op, (ast.Add, ast.Mult)):
            value = node.left.value + node.right.value if isinstance(node.op, ast.Add) else \
                node.left.value * node.right.value
            return ast.copy_location(ast.Constant(value), node)
        return node

    def visit_Name(self, node):
        if node.id.startswith("v") and node.id[1:].isdigit():
            node.id = "tmp_" + node.id[1:]
        return node


def main():
    functions = int(1000 * _kit.scale())
    tree = ast.parse(source(random.Random(3), functions))
    for parent in ast.walk(tree):                              # parent links: the tree becomes one big cycle
        for child in ast.iter_child_nodes(parent):
            child.parent = parent
    nodes = sum(1 for _ in ast.walk(tree))
    tree = ast.fix_missing_locations(Fold().visit(tree))
    text = ast.unparse(tree)
    code = compile(tree, "<generated>", "exec")
    namespace = {}
    exec(code, namespace)
    result = namespace["f0"](1, 2)
    del tree, code
    gc.collect()
    pyalloc_mark.mark("after_spike")
    _kit.report("ast_transform", functions=functions, nodes=nodes, source_bytes=len(text), f0=result)


if __name__ == "__main__":
    main()
