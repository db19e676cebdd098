"""Every name the dialplan and Python share, in one place.

The templates in asterisk_conf/ receive this module as ``C``; a test checks that the
rendered dialplan defines each context named here and that Python never spells them
out elsewhere.
"""

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
LOCAL_AGENTS = "hl-local-agents"  # answering machines standing in for agents (benchmarks)
WAIT = "hl-wait"               # a call waiting for the engine's ACD: music, announcements, key 1 = callback
DELIVER = "hl-deliver"         # exten = agent id: ring the agent the engine chose (Redirect target)
MAX_WAIT = "hl-maxwait"        # the longest wait is over: voicemail (Redirect target)
CALLBACK = "hl-callback"       # an agent's leg of a callback (Originate): then the citizen is dialled
SURVEY = "hl-survey"           # a satisfaction survey: the citizen's answered leg (Originate) presses 1/2/3
CALLOUT = "hl-callout"         # the only outbound route; reached from CALLBACK alone, never from INBOUND

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
G_BEAT = "HL_BEAT"          # global: epoch of the engine's last heartbeat (waiting calls fall back without it)

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

# Feature codes dialled from the agents' SIP phones (AGENTS context)
FEATURE_CODES = {"*11": "login", "*12": "logout", "*13": "pause", "*14": "unpause"}
# *13 followed by a digit pauses with that reason
PAUSE_REASONS = {"": "break", "1": "break", "2": "meal", "3": "training", "4": "after-call work", "5": "meeting"}

# Journal: one file per call, written by Asterisk itself (see asterisk_conf README)
JOURNAL_SUFFIX = ".log"

ACTIONS = ("queue", "hangup", "voicemail")
LANGUAGES = ("cmn", "yue", "en")
