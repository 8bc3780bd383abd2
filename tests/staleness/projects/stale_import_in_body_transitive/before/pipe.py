def task(x):
    import tools

    return tools.a(x)
