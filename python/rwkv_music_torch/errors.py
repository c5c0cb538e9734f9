class UserError(Exception):
    """Bad input from the user: printed as one line naming the file and the problem, no traceback."""
