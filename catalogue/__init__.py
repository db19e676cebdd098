"""The dispatch catalogue (派单目录): matter types, who handles them and how fast."""
