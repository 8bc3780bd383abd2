m.NS.rate = 0.9
