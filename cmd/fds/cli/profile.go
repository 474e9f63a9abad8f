package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile asked for with --cpuprofile.
func (a *App) startProfiles() error {
	if a.CPUProfile == "" {
		return nil
	}
	f, err := os.Create(a.CPUProfile)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	a.cpuFile = f
	return nil
}

// stopProfiles ends the CPU profile and writes the heap profile asked for with --memprofile.
func (a *App) stopProfiles() error {
	if a.cpuFile != nil {
		pprof.StopCPUProfile()
		a.cpuFile.Close()
		a.cpuFile = nil
	}
	if a.MemProfile != "" {
		f, err := os.Create(a.MemProfile)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		defer f.Close()
		runtime.GC()
		return pprof.WriteHeapProfile(f)
	}
	return nil
}
