m.WEIGHTS.default_factory = lambda: 7.0
