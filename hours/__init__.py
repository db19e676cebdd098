"""Business calendar: opening hours, China's statutory holidays, local overrides, closures.

`model` holds the frozen config, `calendar` the pure decisions, `config` the TOML loader,
`cli` the `hotline hours ...` commands.
"""
