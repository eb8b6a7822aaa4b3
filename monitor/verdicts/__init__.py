"""Stage 3, verdicts: a closed window compared with its baseline -> findings, a tier, the words."""
