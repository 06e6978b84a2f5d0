"""Pure domain: money in fen, the clock, policy numbers, domain errors. No I/O."""
