print("dispatchtop")
