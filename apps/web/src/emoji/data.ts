/**
 * The emoji the picker offers, by category, each with the words a search matches (its name and a
 * few keywords). Loaded with `import()` when the picker first opens, so the entry bundle does not
 * carry it. One emoji per entry, each a single grapheme a reaction accepts.
 */

/** One category: its name, the emoji on its tab, and its emoji as `emoji name words` lines. */
export interface EmojiCategory {
  id: string;
  name: string;
  icon: string;
  emojis: { emoji: string; name: string }[];
}

/** `emoji name…` lines, one per entry, split once at load. */
function parse(lines: string): { emoji: string; name: string }[] {
  return lines
    .trim()
    .split('\n')
    .map((line) => {
      const space = line.indexOf(' ');
      return { emoji: line.slice(0, space), name: line.slice(space + 1).trim() };
    });
}

export const CATEGORIES: EmojiCategory[] = [
  {
    id: 'smileys',
    name: 'Smileys and people',
    icon: '😀',
    emojis: parse(`
😀 grinning face smile happy
😃 grinning face with big eyes smile happy
😄 grinning face with smiling eyes smile happy laugh
😁 beaming face with smiling eyes grin
😆 grinning squinting face laugh
😅 grinning face with sweat relief
🤣 rolling on the floor laughing lol
😂 face with tears of joy laugh lol
🙂 slightly smiling face
🙃 upside-down face silly
😉 winking face wink
😊 smiling face with smiling eyes blush
😇 smiling face with halo angel
🥰 smiling face with hearts love
😍 smiling face with heart-eyes love
🤩 star-struck wow
😘 face blowing a kiss love
😗 kissing face
😋 face savoring food yum
😛 face with tongue
😜 winking face with tongue silly
🤪 zany face crazy
🤑 money-mouth face
🤗 smiling face with open hands hug
🤭 face with hand over mouth oops
🤫 shushing face quiet
🤔 thinking face hmm
🤐 zipper-mouth face secret
🤨 face with raised eyebrow doubt
😐 neutral face
😑 expressionless face
😶 face without mouth
😏 smirking face smirk
😒 unamused face
🙄 face with rolling eyes
😬 grimacing face awkward
😌 relieved face
😔 pensive face sad
😪 sleepy face
🤤 drooling face
😴 sleeping face zzz
😷 face with medical mask sick
🤒 face with thermometer ill
🤢 nauseated face sick
🤮 face vomiting
🥵 hot face heat
🥶 cold face freezing
🥴 woozy face drunk
😵 face with crossed-out eyes dizzy
🤯 exploding head mind blown
🤠 cowboy hat face
🥳 partying face party celebrate
😎 smiling face with sunglasses cool
🤓 nerd face geek
🧐 face with monocle
😕 confused face
😟 worried face
🙁 slightly frowning face
😮 face with open mouth surprised wow
😯 hushed face
😲 astonished face shocked
😳 flushed face embarrassed
🥺 pleading face puppy eyes
😦 frowning face with open mouth
😧 anguished face
😨 fearful face scared
😰 anxious face with sweat
😥 sad but relieved face
😢 crying face sad tear
😭 loudly crying face sob
😱 face screaming in fear
😖 confounded face
😣 persevering face
😞 disappointed face
😓 downcast face with sweat
😩 weary face tired
😫 tired face
🥱 yawning face bored
😤 face with steam from nose triumph
😡 enraged face angry
😠 angry face mad
🤬 face with symbols on mouth swearing
😈 smiling face with horns devil
💀 skull dead
💩 pile of poo
🤡 clown face
👻 ghost
👽 alien
🤖 robot
👋 waving hand hello bye
🤚 raised back of hand
✋ raised hand stop high five
👌 ok hand
🤌 pinched fingers
✌️ victory hand peace
🤞 crossed fingers luck
🤟 love-you gesture
🤘 sign of the horns rock
🤙 call me hand
👈 backhand index pointing left
👉 backhand index pointing right
👆 backhand index pointing up
👇 backhand index pointing down
👍 thumbs up like yes agree
👎 thumbs down dislike no
✊ raised fist
👊 oncoming fist punch
👏 clapping hands applause bravo
🙌 raising hands hooray
👐 open hands
🤲 palms up together
🤝 handshake deal
🙏 folded hands please thanks pray
💪 flexed biceps strong
👀 eyes look
🧠 brain smart
🫶 heart hands love
👶 baby
🧒 child
👩 woman
👨 man
🧑 person
👵 old woman
👴 old man
`),
  },
  {
    id: 'nature',
    name: 'Animals and nature',
    icon: '🐶',
    emojis: parse(`
🐶 dog face puppy
🐱 cat face kitten
🐭 mouse face
🐹 hamster
🐰 rabbit face bunny
🦊 fox
🐻 bear
🐼 panda
🐨 koala
🐯 tiger face
🦁 lion
🐮 cow face
🐷 pig face
🐸 frog
🐵 monkey face
🙈 see-no-evil monkey
🙉 hear-no-evil monkey
🙊 speak-no-evil monkey
🐔 chicken
🐧 penguin
🐦 bird
🦆 duck
🦉 owl
🐝 honeybee bee
🦋 butterfly
🐌 snail slow
🐞 lady beetle ladybug
🐢 turtle slow
🐍 snake
🐙 octopus
🐬 dolphin
🐳 spouting whale
🦈 shark
🐘 elephant
🦒 giraffe
🐴 horse face
🦄 unicorn
💐 bouquet flowers
🌸 cherry blossom flower
🌹 rose flower
🌻 sunflower
🌷 tulip
🌱 seedling plant
🌲 evergreen tree
🌴 palm tree
🍀 four leaf clover luck
🍁 maple leaf autumn
☀️ sun sunny
🌙 crescent moon night
⭐ star
🌈 rainbow
☁️ cloud
⛈️ cloud with lightning and rain storm
❄️ snowflake cold
🔥 fire hot lit
💧 droplet water
🌊 water wave sea
`),
  },
  {
    id: 'food',
    name: 'Food and drink',
    icon: '🍔',
    emojis: parse(`
🍏 green apple
🍎 red apple
🍐 pear
🍊 tangerine orange
🍋 lemon
🍌 banana
🍉 watermelon
🍇 grapes
🍓 strawberry
🍒 cherries
🍑 peach
🥭 mango
🍍 pineapple
🥥 coconut
🥝 kiwi fruit
🍅 tomato
🥑 avocado
🥦 broccoli
🥕 carrot
🌽 ear of corn
🌶️ hot pepper spicy
🥐 croissant
🍞 bread
🧀 cheese wedge
🥚 egg
🍳 cooking fried egg
🥞 pancakes
🥓 bacon
🍔 hamburger burger
🍟 french fries
🍕 pizza
🌭 hot dog
🥪 sandwich
🌮 taco
🌯 burrito
🥗 green salad
🍝 spaghetti pasta
🍜 steaming bowl ramen noodles
🍣 sushi
🍱 bento box
🍦 soft ice cream
🍩 doughnut donut
🍪 cookie
🎂 birthday cake
🍰 shortcake cake
🍫 chocolate bar
🍿 popcorn
☕ hot beverage coffee tea
🍵 teacup without handle tea
🧃 beverage box juice
🥤 cup with straw soda
🍺 beer mug
🍻 clinking beer mugs cheers
🥂 clinking glasses cheers champagne
🍷 wine glass
🍸 cocktail glass
`),
  },
  {
    id: 'activities',
    name: 'Activities',
    icon: '⚽',
    emojis: parse(`
⚽ soccer ball football
🏀 basketball
🏈 american football
⚾ baseball
🎾 tennis
🏐 volleyball
🏓 ping pong table tennis
🏸 badminton
🥊 boxing glove
🏆 trophy winner
🥇 1st place medal gold
🥈 2nd place medal silver
🥉 3rd place medal bronze
🏅 sports medal
🎯 direct hit bullseye target
🎮 video game
🎲 game die dice
🧩 puzzle piece
🎨 artist palette art
🎭 performing arts theatre
🎤 microphone sing karaoke
🎧 headphone music
🎸 guitar
🎹 musical keyboard piano
🥁 drum
🎬 clapper board film movie
🎉 party popper celebrate tada
🎊 confetti ball
🎈 balloon party
🎁 wrapped gift present
🎄 christmas tree
🎃 jack-o-lantern halloween
✨ sparkles shiny
🏃 person running run
🚴 person biking cycling
🏊 person swimming swim
🧘 person in lotus position yoga
`),
  },
  {
    id: 'travel',
    name: 'Travel and places',
    icon: '✈️',
    emojis: parse(`
🚗 automobile car
🚕 taxi
🚌 bus
🚑 ambulance
🚒 fire engine
🚲 bicycle bike
🛴 kick scooter
🏍️ motorcycle
🚂 locomotive train
🚆 train
🚇 metro subway
✈️ airplane flight plane
🚀 rocket launch
🛸 flying saucer ufo
🚢 ship
⛵ sailboat
⚓ anchor
🗺️ world map
🧭 compass
🏔️ snow-capped mountain
🏖️ beach with umbrella holiday
🏕️ camping
🏠 house home
🏢 office building work
🏥 hospital
🏫 school
⛪ church
🗽 statue of liberty
🗼 tokyo tower
🌍 globe showing europe-africa world earth
🌃 night with stars city
🌅 sunrise
`),
  },
  {
    id: 'objects',
    name: 'Objects',
    icon: '💡',
    emojis: parse(`
⌚ watch time
📱 mobile phone
💻 laptop computer
⌨️ keyboard
🖥️ desktop computer
🖨️ printer
📷 camera photo
🎥 movie camera video
📞 telephone receiver call
☎️ telephone
📺 television tv
⏰ alarm clock
⏳ hourglass wait
🔋 battery
🔌 electric plug
💡 light bulb idea
🔦 flashlight torch
💰 money bag
💳 credit card
💎 gem stone diamond
🔧 wrench tool
🔨 hammer
🔑 key
🔒 locked lock secure
🔓 unlocked
🛡️ shield
✉️ envelope mail
📦 package parcel box
📝 memo note write
📅 calendar date
📌 pushpin pin
📎 paperclip attach
✂️ scissors
📚 books read
📖 open book
🔍 magnifying glass search
💊 pill medicine
🛒 shopping cart
🎓 graduation cap
👓 glasses
👕 t-shirt
👟 running shoe sneaker
🎒 backpack
☂️ umbrella rain
`),
  },
  {
    id: 'symbols',
    name: 'Symbols',
    icon: '❤️',
    emojis: parse(`
❤️ red heart love
🧡 orange heart
💛 yellow heart
💚 green heart
💙 blue heart
💜 purple heart
🖤 black heart
🤍 white heart
💔 broken heart
💕 two hearts love
💖 sparkling heart
💯 hundred points perfect 100
💢 anger symbol
💥 collision boom
💫 dizzy
💬 speech balloon chat
💭 thought balloon
💤 zzz sleep
✅ check mark button done yes
✔️ check mark
❌ cross mark no wrong
❓ red question mark
❗ red exclamation mark
⚠️ warning
⛔ no entry
🚫 prohibited
♻️ recycling symbol
🆗 ok button
🆕 new button
🆒 cool button
🔴 red circle
🟢 green circle
🔵 blue circle
➕ plus
➖ minus
➡️ right arrow
⬅️ left arrow
🔁 repeat button
🎵 musical note music
⏩ fast-forward button
⏸️ pause button
`),
  },
];
