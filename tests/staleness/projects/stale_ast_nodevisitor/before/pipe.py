import ast


class Names(ast.NodeVisitor):
    def __init__(self):
        self.found = []

    def visit_Name(self, node):
        self.found.append(node.id)


def task(src):
    v = Names()
    v.visit(ast.parse(src))
    return v.found
