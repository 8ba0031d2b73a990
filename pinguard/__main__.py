from pinguard.cli import main

raise SystemExit(main())
