print("shadowgate")
