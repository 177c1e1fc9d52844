"""Pure, vectorized portfolio analytics (numpy): no I/O, no clock; float64 in, float out."""
