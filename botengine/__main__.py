from botengine.cli import main

raise SystemExit(main())
