// Package scripttest runs detector unit tests written as short event scripts: a few lines of
// orders, trades and marks, then the alerts the detector must raise (or none). It is to detectors
// what `promtool test rules` is to alerting rules: a test reads like the incident it describes.
//
// # Example
//
//	# a spoofer: a big bid under the touch, cancelled after 2 s, while the same account sells
//	detector spoofing
//	set min_order_notional=1000
//	accounts
//	  A owner=g1
//	events
//	  +0.000 BTCUSDT order A new id=1 buy limit 99.0 qty=50
//	  +0.500 BTCUSDT trade id=7 sell 100.0 qty=1 taker=A/2 maker=B/9
//	  +2.000 BTCUSDT order A cancel id=1
//	expect
//	  spoofing BTCUSDT accounts=A at=+2.000 score>=0.5 orders=1 trades=7
//
// # Grammar
//
// A script is a sequence of lines. Blank lines and everything from a '#' that starts a line or
// follows a blank are comments. Headers start in column 0; the lines of a section (accounts,
// events, expect) are indented.
//
//	case NAME...          start a new test case; everything before the first case is a preamble
//	                      inherited by every case (a file without case lines is one case)
//	detector NAME         the registered detector to build (detectors.Build)
//	set K=V [K=V...]      detector parameters; V is a number, or a duration with a unit
//	                      (500ms, 2s, 5m, 1h) converted to seconds; may repeat
//	start RFC3339         the time that relative times count from (default 2024-01-01T00:00:00Z)
//	accounts              then one indented line per account:
//	    ID [owner=G] [ip=H] [device=H] [referrer=R] [created=TIME]
//	events                then one indented line per event, times non-decreasing:
//	    TIME SYMBOL order ACCOUNT EVENT id=N [SIDE] [TYPE] [PRICE] [qty=Q] [leaves=L]
//	                      [reduce_only] [post_only]
//	    TIME SYMBOL trade [id=N] SIDE PRICE qty=Q [taker=ACCT[/ORDER]] [maker=ACCT[/ORDER]]
//	    TIME SYMBOL exec  [id=N] SIDE PRICE qty=Q taker=ACCT/ORDER maker=ACCT/ORDER
//	    TIME SYMBOL mark  PRICE [index=P] [funding=R] [oi=Q]
//	    TIME SYMBOL liq   ACCOUNT SIDE PRICE qty=Q
//	expect                then "none", or one indented line per alert:
//	    TYPE SYMBOL [accounts=A,B] [at=TIME | at=TIME..TIME] [window=TIME..TIME]
//	                [orders=1,2] [trades=7,8] [score OP X] [feature.NAME OP X]
//
// TIME is "+1.5", "+1.5s", "+500ms", "+2m", "+1h" or "+250us" (an offset from start; a bare
// number is seconds), or a clock "00:00:01.500" (also an offset from start). SIDE is buy or sell
// (for trades, the taker's side); EVENT is new, amend, cancel, fill, expire or reject; TYPE is
// limit, market, stop_market or stop_limit. A bare number is the price; key=value tokens may
// appear in any order.
//
// Order lines remember each order by id within a case, so later lines may omit what is known:
// side, type and price default to the order's; a cancel, expire or reject defaults to the order's
// quantity with leaves=0; a fill needs qty= and defaults leaves to the order's remaining quantity
// minus the fill; an amend needs qty= (the new order quantity) and keeps what was filled; a new
// order defaults leaves to qty.
//
// An exec line is one whole execution: it expands, at the same time, into the taker order's new
// event (a market order for qty, unless the taker order is already known) and fill, the maker
// order's fill (the maker order must be known: place it first with an order line), and the
// trade. Trade ids default to 1, 2, 3, ... in the case.
//
// At equal times events are replayed in table order (marks, orders, trades, liquidations), as the
// backtest replay does; within a kind, in script order. Seq numbers the replayed events 0, 1, ...
//
// In expect lines, TYPE is the incident type or the detector name; OP is one of >=, <=, >, <, =
// (equality within 1e-9) or a range "score=0.5..0.7". accounts, orders and trades are compared as
// sets; fields not written are not checked. Every alert the detector raises must be matched by an
// expect line and every expect line by an alert, one to one. A failing case is reported as a diff:
// "- " lines are expected alerts not raised, "+ " lines are raised alerts not expected, written in
// the expect grammar so that they can be pasted into the script.
package scripttest
