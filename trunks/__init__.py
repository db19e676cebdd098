"""Carrier trunks: citizens' calls arriving and leaving over SIP.

model (the centre file's [[trunks]] as data, validated), numbers (dialled -> entry number,
caller -> national form), policy (what the centre may dial out, pure), render (the PJSIP
sections and dialplan globals from the same data), apply (write + PJSIP reload), service
(the engine's side: events, counters, the outbound guard), sipp (SIPp as the carrier).
"""
