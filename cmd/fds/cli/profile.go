package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile asked for with --cpuprofile. The profile is written to a
// temporary file beside its path and renamed into place when it stops, so a half-written
// profile never carries the name.
func (a *App) startProfiles() error {
	if a.CPUProfile == "" {
		return nil
	}
	dir, base := filepath.Split(a.CPUProfile)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	a.cpuFile = f
	return nil
}

// stopProfiles ends the CPU profile and writes the heap profile asked for with --memprofile.
// Main calls it also after a failed command: the profile of a failure is worth having.
func (a *App) stopProfiles() error {
	if a.cpuFile != nil {
		pprof.StopCPUProfile()
		f := a.cpuFile
		a.cpuFile = nil
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), a.CPUProfile)
		}
		if err != nil {
			os.Remove(f.Name())
			return fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	if a.MemProfile != "" {
		var buf bytes.Buffer
		runtime.GC()
		if err := pprof.WriteHeapProfile(&buf); err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		if err := writeFileAtomic(a.MemProfile, buf.Bytes()); err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		a.MemProfile = ""
	}
	return nil
}
