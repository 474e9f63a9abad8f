package backtest

import (
	"fmt"
	"math"
	"regexp"
	"sort"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/fds-dev/fds/detectors"
)

// Config errors name the file, line and column of the key or value at fault, as grid errors do:
// "fds.yaml:7:5: detectors.spoofing: detector spoofing has no parameter "min_size" (...)".

// yamlPositioned matches the "[line:column] message" errors of the YAML library.
var yamlPositioned = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*(.*)$`)

// decodeConfigError formats a YAML decoding error as "name:line:column: message".
func decodeConfigError(name string, err error) error {
	msg := oneLine(yaml.FormatError(err, false, false))
	if m := yamlPositioned.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s:%s: %s", name, m[1], m[2], m[3])
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// locateConfigError prefixes a validation error of c (parsed from data) with the position of the
// key or value it is about: the first unknown detector, unknown parameter or out-of-range value,
// found in the order Validate checks them.
func locateConfigError(name string, data []byte, c Config, verr error) error {
	if n := faultyConfigNode(data, c); n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
		pos := n.GetToken().Position
		return fmt.Errorf("%s:%d:%d: %w", name, pos.Line, pos.Column, verr)
	}
	return fmt.Errorf("%s: %w", name, verr)
}

func faultyConfigNode(data []byte, c Config) ast.Node {
	f, err := parser.ParseBytes(data, 0)
	if err != nil || len(f.Docs) == 0 {
		return nil
	}
	root := f.Docs[0].Body
	_, dets := mappingEntry(root, "detectors")
	for _, det := range c.DetectorNames() {
		detKey, detValue := mappingEntry(dets, det)
		spec, ok := detectors.Lookup(det)
		if !ok {
			return detKey
		}
		params := make([]string, 0, len(c.Detectors[det]))
		for p := range c.Detectors[det] {
			params = append(params, p)
		}
		sort.Strings(params)
		for _, p := range params {
			key, value := mappingEntry(detValue, p)
			ps, known := spec.Param(p)
			if !known {
				return key
			}
			if ps.Check(c.Detectors[det][p]) != nil {
				return value
			}
		}
	}
	_, match := mappingEntry(root, "match")
	for key, v := range map[string]float64{"lead_s": c.Match.LeadSeconds, "tolerance_s": c.Match.ToleranceSeconds} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			_, value := mappingEntry(match, key)
			return value
		}
	}
	return nil
}

// mappingEntry returns the key and value nodes of key in a mapping node (nil, nil if absent).
func mappingEntry(n ast.Node, key string) (ast.Node, ast.Node) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, nil
	}
	for _, kv := range values {
		if s, ok := kv.Key.(ast.ScalarNode); ok && fmt.Sprint(s.GetValue()) == key {
			return kv.Key, kv.Value
		}
	}
	return nil, nil
}
