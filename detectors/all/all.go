// Package all registers every detector of the catalogue: import it for its side effect.
package all
