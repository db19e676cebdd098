"""Every name the dialplan and Python share, in one place.

The templates in asterisk_conf/ receive this module as ``C``; a test checks that the
rendered dialplan defines each context named here and that Python never spells them
out elsewhere.
"""
import re

# Contexts
INBOUND = "from-pstn"          # calls from the network enter here; reaches no outbound route
SIM_TRUNK = "hl-sim-trunk"     # test/demo trunk: decodes an exact caller ID, then enters INBOUND
SIM_CALLER = "hl-sim-caller"   # the citizen's side of a simulated call (Local channel ;2 half)
SIM_FAX = "hl-sim-fax"         # a simulated fax machine sending a TIFF (SendFAX)
START = "hl-start"             # per-call set-up: answer, record, journal, hangup handler
ROUTE = "hl-route"             # engine IVR over FastAGI, with native fallback
QUEUE = "hl-queue"             # queue a call and journal what happened
CONNECT = "hl-connect"         # gosub run on the agent's channel when it answers
END = "hl-end"                 # hangup handler: last journal line + notify the engine
AGENTS = "hl-agents"           # context of the agents' SIP endpoints (feature codes only)
VOICEMAIL = "hl-voicemail"     # after hours: record a message (Record, silence-trimmed later)
FAX = "hl-fax"                 # receive a fax (spandsp)
NATIVE_MENU = "hl-native-menu"  # the same menu in plain dialplan (benchmark peer)
NATIVE_MENU_DEPT = "hl-native-menu-dept"  # its department step (Queue per department)
LOCAL_AGENTS = "hl-local-agents"  # answering machines standing in for agents (benchmarks)
WAIT = "hl-wait"               # a call waiting for the engine's ACD: music, announcements, key 1 = callback
DELIVER = "hl-deliver"         # exten = agent id: ring the agent the engine chose (Redirect target)
MAX_WAIT = "hl-maxwait"        # the longest wait is over: voicemail (Redirect target)
CALLBACK = "hl-callback"       # an agent's leg of a callback (Originate): then the citizen is dialled
SURVEY = "hl-survey"           # a satisfaction survey: the citizen's answered leg (Originate) presses 1/2/3
CALLOUT = "hl-callout"         # the only outbound route; reached from CALLBACK alone, never from INBOUND
CALLOUT_PEER = "hl-callout-peer"  # pre-dial handler on each trunk leg CALLOUT creates
CALLOUT_ANSWERED = "hl-callout-answered"  # gosub on the citizen's answer: journal + event
TRUNK_IN = "hl-trunk-in"       # context of the carrier trunks' endpoints: limits, number maps, then INBOUND
TRANSFER = "hl-transfer"       # exten = department code: the citizen is put through to the department's line (AMI Redirect)
CONFERENCE = "hl-conference"   # the citizen, the agent and the department's line in one ConfBridge (three-way call)
DEPT_LINE = "hl-dept-line"     # exten = department code: the department's line a transfer rings
RATING = "hl-rating"           # after an answered call: the citizen rates it with one key 1/2/3 (一次一评)

# FastAGI routes
AGI_IVR = "ivr"

# Channel variables set by the engine (AGI) and read by the dialplan
V_ACTION = "HL_ACTION"      # what the dialplan does after the IVR: queue | hangup
V_QUEUE = "HL_QUEUE"        # app_queue name
V_LANG = "HL_LANG"          # cmn | yue | en
V_DEPT = "HL_DEPT"          # department code
V_PATH = "HL_PATH"          # IVR path: node:digits@seconds, comma separated
V_ENTRY = "HL_ENTRY"        # the number the citizen dialled
V_FALLBACK = "HL_FALLBACK"  # 1 when the engine could not be reached
V_CALLBACK = "HL_CALLBACK"  # 1 when the caller booked a callback in the menu
V_PRIO = "HL_PRIO"          # ACD priority class set by the menu (0 emergency ... 3 normal)
V_ANNOUNCE = "HL_ANNOUNCE"  # sound the waiting call hears next (position, estimated wait)
V_CB_NUMBER = "HL_CB_NUMBER"  # digits a callback dials
V_CB_AGENT = "HL_CB_AGENT"  # the agent id whose leg a callback is
V_CB_OF = "HL_CB_OF"        # linkedid of the call that asked for the callback
V_CB_OK = "HL_CB_OK"        # 1: the waiting caller's number is callable, key 1 books a callback
V_QSINCE = "HL_QSINCE"      # epoch the call started waiting (a ring-out keeps its place)
V_TICKET = "HL_TICKET"      # the ticket a survey call is about
V_SURVEY = "HL_SURVEY"      # the key the citizen pressed in a survey
V_SURVEY_SENT = "HL_SURVEY_SENT"  # 1 once SURVEY reported the key (its h extension stays silent)
V_REC = "HL_REC"            # the call's recording file name
V_SAY = "HL_SAY"            # the announcement WAIT plays next (taken from HL_ANNOUNCE)
V_LINE = "HL_LINE"          # LOCAL_AGENTS: the kind of stand-in line being rung
V_XFER_TO = "HL_XFER_TO"    # the department a call is transferred to (set on the citizen's channel)
V_XFER_BY = "HL_XFER_BY"    # the agent who transferred it
V_CONF = "HL_CONF"          # the ConfBridge of a three-way call
V_RATING = "HL_RATING"      # the key the citizen pressed in RATING

# Globals of the dialplan
G_BEAT = "HL_BEAT"          # epoch of the engine's last heartbeat (waiting calls fall back without it)
G_RING = "HL_RING"          # seconds an offered call rings (the engine sets its [acd] value)
G_BEAT_MAX = "HL_BEAT_MAX"  # heartbeat older than this: waiting calls fall back to app_queue
G_AGI = "HL_AGI"            # the engine's FastAGI address
G_JOURNAL = "HL_JOURNAL"    # the journal folder (inside the Asterisk root)
G_RECDIR = "HL_RECDIR"      # recordings, voicemails and faxes as Asterisk writes them
G_QTIMEOUT = "HL_QTIMEOUT"  # app_queue's wait limit on the native fallback path
G_VM_MAX = "HL_VM_MAX"      # longest voicemail, seconds
G_IF_ = "HL_IF_"            # + agent id: the dial string of the agent's line
G_LINE_ = "HL_LINE_"        # + agent id: the kind of a Local stand-in line (local-talk, ...)
G_FALLBACK_DEPT_ = "HL_FALLBACK_DEPT_"  # + entry number: the department of the native fallback
G_CENTRE = "HL_CENTRE"      # the centre's number: the caller ID of every outbound call
G_OUT_TARGETS = "HL_OUT_TARGETS"  # the out trunks' hosts in order, tried one after another
G_OUT_MAX = "HL_OUT_MAX"    # concurrent outbound calls allowed
G_OUT_RING = "HL_OUT_RING"  # seconds an outbound call rings
G_TLIM_ = "HL_TLIM_"        # + trunk: its channel limit
G_TCPS_ = "HL_TCPS_"        # + trunk: calls per second allowed from one source
G_TMAP_ = "HL_TMAP_"        # + trunk + dialled key: the entry number it maps to
G_TNATIVE = "HL_TNATIVE"    # 1: trunk calls go to NATIVE_MENU (the benchmark's peer)
G_RATE_ALL = "HL_RATE_ALL"  # 1: every answered call goes to RATING when the agent hangs up ([acd] rate_calls = "all")
G_BRIEF_MIN = "HL_BRIEF_MIN"  # seconds a local-brief stand-in agent talks at least (benchmarks set it)
G_BRIEF_MAX = "HL_BRIEF_MAX"  # ... and at most
G_LOCAL_ID = "HL_LOCAL_ID"    # 1: Local stand-in agents answer with their id as connected line, which
                             # Asterisk sends the caller in a re-INVITE (bench/busy_day.py sets it)

# Scratch variables the dialplan keeps to itself (no Python reads or sets them)
DIALPLAN_LOCALS = ("HL_DIALLED", "HL_SRC", "HL_SRCKEY", "HL_CALLID", "HL_RATEKEY", "HL_KEY", "HL_TO", "HL_RAW",
                   "HL_C", "HL_W", "HL_N", "HL_M", "HL_WHY", "HL_NUM", "HL_I", "HL_T", "HL_Q850", "HL_CODE",
                   "HL_PEER", "HL_PEER_CAUSE", "HL_JOURNALED", "HL_SIP")

# Variables of the simulated caller
V_SIM_CID = "HL_SIM_CID"    # base64 caller number, decoded by SIM_TRUNK
V_SIM_DTMF = "HL_SIM_DTMF"  # digits the simulated citizen sends (SendDTMF syntax)
V_SIM_WAIT = "HL_SIM_WAIT"  # seconds before the first digit
V_SIM_TALK = "HL_SIM_TALK"  # seconds the citizen stays on the line after the digits
V_SIM_FAX = "HL_SIM_FAX"    # TIFF the simulated fax machine sends (path inside the Asterisk root)
V_SIM_CUT = "HL_SIM_CUT"    # seconds after which the simulated fax machine hangs up (0: never)
V_SIM_PLAY = "HL_SIM_PLAY"  # a sound the citizen says after the digits (e.g. a voicemail)

# AMI
EV_CALL_END = "HotlineCallEnd"  # UserEvent sent by END; carries the linkedid
EV_QUEUED = "HotlineQueued"     # a call entered WAIT: linkedid, channel, dept, lang, prio
EV_CB_REQ = "HotlineCallbackRequest"  # a waiting caller pressed 1: keep the place, call back
EV_DELIVERY = "HotlineDelivery"  # DELIVER's Dial ended: linkedid, agent, status (DIALSTATUS)
EV_CONNECTED = "HotlineConnected"  # an agent answered: linkedid, agent
EV_AGENT = "HotlineAgent"       # a feature code from an agent's phone: agent, op, reason
EV_SURVEY = "HotlineSurvey"     # SURVEY got a key: linkedid (the survey call), result
EV_CB_DONE = "HotlineCallbackDone"  # the citizen's leg of a callback ended: of, status
EV_TRUNK = "HotlineTrunk"       # TRUNK_IN refused a call: trunk, reason (channels|rate|number), source, callid
EV_TRUNK_OUT = "HotlineTrunkOut"  # CALLOUT tried a trunk (or refused): linkedid, number, trunk, attempt, status, cause, sip

# The AMI events each of the engine's consumers subscribes to: its handler is given only
# these (ami/session.py refuses a subscription to a name not listed here), and Asterisk's
# manager.conf filter is their union (AMI_FILTER), so nothing else is sent, read or parsed.
# A consumer that needs a new event adds it here and gets it, filter included.
AMI_EVENTS: dict[str, tuple[str, ...]] = {
    "engine": ("UserEvent",),                                    # the end of a call: read its journal
    # acd/service.py on_ami; ContactStatus: a SIP agent's phone registering or dropping (paused
    # 'unreachable' meanwhile)
    "acd": ("UserEvent", "DialBegin", "OriginateResponse", "ContactStatus"),
    "surveys": ("UserEvent", "OriginateResponse"),               # surveys/service.py on_ami
    # security class: a SIP request from an address no trunk accepts (trunks/service.py counts them)
    "trunks": ("UserEvent", "InvalidAccountID"),
}
AMI_FILTER: tuple[str, ...] = tuple(sorted({e for events in AMI_EVENTS.values() for e in events}))

# Set on a trunk endpoint's channels (PJSIP set_var): the trunk's name
V_TRUNK = "HL_TRUNK"

# Feature codes dialled from the agents' SIP phones (AGENTS context)
FEATURE_CODES = {"*11": "login", "*12": "logout", "*13": "pause", "*14": "unpause"}
# *13 followed by a digit pauses with that reason
PAUSE_REASONS = {"": "break", "1": "break", "2": "meal", "3": "training", "4": "after-call work", "5": "meeting"}

# Journal: one file per call, written by Asterisk itself (see docs/architecture.md); one line
# per step: "<epoch> <kind> key=value ..." (values URI-encoded)
JOURNAL_SUFFIX = ".log"
J_START = "start"
J_OFFER = "offer"
J_QJOIN = "qjoin"
J_QLEAVE = "qleave"
J_CONNECT = "connect"
J_RONA = "rona"
J_CALLBACK = "callback"
J_CBREQ = "cbreq"
J_FALLBACK = "fallback"
J_FAX_START = "fax_start"
J_VM_START = "vm_start"
J_VM_END = "vm_end"
J_END = "end"
J_TRANSFER = "transfer"     # to=<department> mode=blind|conference agent=<agent id>
J_RATING = "rating"         # key=1|2|3: the citizen's rating of the call (RATING)
J_TRUNK = "trunk"
J_TRUNK_OUT = "trunk_out"
JOURNAL_KINDS = (J_START, J_OFFER, J_QJOIN, J_QLEAVE, J_CONNECT, J_RONA, J_CALLBACK, J_CBREQ, J_FALLBACK, J_FAX_START, J_VM_START, J_VM_END, J_END, J_TRUNK, J_TRUNK_OUT, J_TRANSFER, J_RATING)

# The fields each UserEvent carries (the dialplan sends them, the engine reads them)
EV_FIELDS = {
    EV_CALL_END: ("linkedid", "dialstatus"),
    EV_QUEUED: ("linkedid", "channel", "dept", "lang", "prio", "since"),
    EV_CB_REQ: ("linkedid",),
    EV_DELIVERY: ("linkedid", "agent", "status"),
    EV_CONNECTED: ("linkedid", "agent"),
    EV_AGENT: ("endpoint", "op", "reason"),
    EV_SURVEY: ("linkedid", "result"),
    EV_CB_DONE: ("of", "status", "linkedid"),
    EV_TRUNK: ("event", "trunk", "reason", "source", "callid", "dialed"),
    EV_TRUNK_OUT: ("linkedid", "number", "trunk", "attempt", "status", "cause", "sip"),
}

ACTIONS = ("queue", "hangup", "voicemail")
LANGUAGES = ("cmn", "yue", "en")   # Mandarin, Cantonese, English: prompts, skills, knowledge base
# A knowledge-base answer the menu reads out is named by a key, not an entry id: ids differ
# between databases and change when an answer is re-entered; the key is a tag on the entries.
KB_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
