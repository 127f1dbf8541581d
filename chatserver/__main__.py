from chatserver.cli import main

raise SystemExit(main())
