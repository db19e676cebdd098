"""The department portal (/portal): its inbox, accept, return, reply, extension requests."""
