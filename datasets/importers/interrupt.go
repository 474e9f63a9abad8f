package importers

import (
	"context"
	"io"
)

// ctxReader fails reads once its context is cancelled, so that an interrupt stops a parser at
// its next read whatever the format.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
