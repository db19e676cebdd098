"""Scorecards (/scorecard): each department's and each agent's figures for a month."""
