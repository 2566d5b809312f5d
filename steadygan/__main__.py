from steadygan.cli import main

raise SystemExit(main())
