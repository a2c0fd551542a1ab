class Custom:
    pass
