"""The rules of chat as plain code: no I/O, no awaiting, testable on their own."""
