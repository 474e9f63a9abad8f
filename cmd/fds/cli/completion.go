package cli

import (
	"github.com/spf13/cobra"
)

func init() { register(newCompletionCmd) }

// completionShells are the shells fds completes in.
var completionShells = []string{"bash", "zsh", "fish"}

// newCompletionCmd replaces cobra's default completion command (which registering a command of
// the same name turns off) with one that has an example per shell, like every fds command.
func newCompletionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `completion prints a script that makes the shell complete fds's commands, flags and values
(detector names are not completed; formats, shells and folders are). Load it once per session or
install it where the shell looks for completions.`,
		Example: `  source <(fds completion bash)                                   # bash, this session
  fds completion bash > /etc/bash_completion.d/fds                # bash, every session
  fds completion zsh > "${fpath[1]}/_fds"                          # zsh (compinit must be on)
  fds completion fish > ~/.config/fish/completions/fds.fish       # fish`,
		ValidArgs: completionShells,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 || !contains(completionShells, args[0]) {
				return usagef("completion wants one of: bash, zsh, fish")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(app.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(app.Stdout)
			default:
				return root.GenFishCompletion(app.Stdout, true)
			}
		},
	}
}
