// Package all links every detector into a binary: importing it for side effects registers them
// all with the detectors registry.
package all

import (
	_ "github.com/fds-dev/fds/detectors/collusion"     // collusion
	_ "github.com/fds-dev/fds/detectors/frontrunning"  // front_running
	_ "github.com/fds-dev/fds/detectors/funding"       // funding_manipulation
	_ "github.com/fds-dev/fds/detectors/layering"      // layering
	_ "github.com/fds-dev/fds/detectors/liqhunt"       // liquidation_hunt
	_ "github.com/fds-dev/fds/detectors/momentum"      // momentum_ignition
	_ "github.com/fds-dev/fds/detectors/pumpdump"      // pump_and_dump
	_ "github.com/fds-dev/fds/detectors/quotestuffing" // quote_stuffing
	_ "github.com/fds-dev/fds/detectors/spoofing"      // spoofing
	_ "github.com/fds-dev/fds/detectors/washtrade"     // wash_trade
)
