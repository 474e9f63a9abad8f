package synth

// cataloguePart1Planners plans the episodes of the first part of the detector catalogue
// (collusion, layering, quote stuffing, front running, linked-account wash trades) and their
// look-alikes. count turns a rate per hour into a number of episodes for this market.
func (g *Generator) cataloguePart1Planners(count func(perHour float64) int) []episodePlanner {
	return nil
}
