"""A text's token ids as they travel in the input matrix: 0 pads a text shorter
than its column's slots, 1 stands for a missing text, a token's id starts at 2."""

PAD, MISSING_TEXT, FIRST_ID = 0, 1, 2
