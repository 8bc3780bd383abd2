import pathlib

import tools

p = pathlib.Path(tools.__file__)
p.write_text(p.read_text().replace("x + 1", "x + 2"))
