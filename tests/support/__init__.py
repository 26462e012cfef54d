"""Helpers the tests share: fake and real Label Studios, servers, data sets, fuzzing strategies."""
