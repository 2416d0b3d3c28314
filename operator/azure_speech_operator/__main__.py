from azure_speech_operator.cli import main

raise SystemExit(main())
